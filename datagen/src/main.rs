//! datagen: writes a synthetic, deterministic `hdma-wi-2021.sql.gz` (see docs/data.md).
//!
//!     cargo run -q -p datagen --release -- [--out PATH] [--scale N] [--seed S]

mod alloc;
mod geo;
mod lenders;
mod plan;
mod rng;
mod schema;
mod synth;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use flate2::{Compression, GzBuilder};

/// Relative to the workspace root (the repository), wherever cargo is run from.
const DEFAULT_OUT: &str = ".local/data/hdma-wi-2021.sql.gz";
const DEFAULT_SEED: u64 = 544;

struct Args {
    out: PathBuf,
    scale: u64,
    seed: u64,
    quiet: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: datagen [--out PATH] [--scale N] [--seed S] [--quiet]\n\
         Writes a synthetic MySQL dump of the 2021 HMDA Wisconsin loans (gzip).\n\
         --out PATH   output file (default: {DEFAULT_OUT} in the repository)\n\
         --scale N    multiply every count by N (default 1)\n\
         --seed S     PRNG seed (default {DEFAULT_SEED}); same seed, same bytes"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("datagen sits in the repository");
    let mut a = Args {
        out: repo.join(DEFAULT_OUT),
        scale: 1,
        seed: DEFAULT_SEED,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) if k.starts_with("--") => (k.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut val = |name: &str| -> String {
            inline.clone().or_else(|| it.next()).unwrap_or_else(|| {
                eprintln!("datagen: {name} needs a value");
                usage()
            })
        };
        match key.as_str() {
            "--out" | "-o" => a.out = PathBuf::from(val("--out")),
            "--scale" => {
                a.scale = val("--scale")
                    .parse()
                    .ok()
                    .filter(|n: &u64| (1..=1000).contains(n))
                    .unwrap_or_else(|| {
                        eprintln!("datagen: --scale must be an integer in 1..=1000");
                        usage()
                    })
            }
            "--seed" => {
                a.seed = val("--seed").parse().unwrap_or_else(|_| {
                    eprintln!("datagen: --seed must be an unsigned integer");
                    usage()
                })
            }
            "--quiet" | "-q" => a.quiet = true,
            "--help" | "-h" => usage(),
            other => {
                eprintln!("datagen: unknown argument {other}");
                usage()
            }
        }
    }
    a
}

/// Counts bytes going through to the inner writer.
struct Counting<W: Write> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(b)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hands each written buffer to the compressor thread.
struct ChannelWriter(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .send(b.to_vec())
            .map_err(|_| std::io::Error::other("compressor thread stopped"))?;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let args = parse_args();
    let t0 = Instant::now();
    let counties = geo::build_counties(args.seed);
    let pool = lenders::build_pool(args.seed, &counties);
    let mut plan = plan::make_plan(args.seed, args.scale, &counties);
    plan::order_by_lender(&mut plan, args.seed, &pool);

    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    let tmp = args
        .out
        .with_extension(format!("tmp{}", std::process::id()));
    let file = std::fs::File::create(&tmp)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", tmp.display()));
    // Rows are formatted on this thread and compressed on another (one sequential gzip stream,
    // so the bytes do not depend on the threading).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let compressor = std::thread::spawn(move || -> std::io::Result<u64> {
        let counting = Counting {
            inner: BufWriter::with_capacity(1 << 20, file),
            n: 0,
        };
        // gzip header: mtime 0, no file name: the bytes depend on nothing but the seed and scale
        let mut gz = GzBuilder::new()
            .mtime(0)
            .write(counting, Compression::new(6));
        for chunk in rx {
            gz.write_all(&chunk)?;
        }
        let mut counting = gz.finish()?;
        counting.flush()?;
        Ok(counting.n)
    });
    let mut sender = ChannelWriter(tx);
    let stats = synth::write_dump(&mut sender, args.seed, &counties, &pool, &plan)
        .expect("writing the dump");
    drop(sender);
    let gz_bytes = compressor
        .join()
        .expect("compressor thread")
        .expect("writing the gzip file");

    // The headline figures, checked on the generated rows (not just the plan).
    let s = args.scale;
    let fail = |what: String| -> ! {
        let _ = std::fs::remove_file(&tmp);
        eprintln!("datagen: FIGURES NOT MET: {what}");
        std::process::exit(1)
    };
    if stats.total != plan::BASE_TOTAL * s {
        fail(format!(
            "{} rows, want {}",
            stats.total,
            plan::BASE_TOTAL * s
        ));
    }
    for t in 0..4 {
        if stats.by_type[t] != plan::BASE_TYPE_COUNTS[t] * s {
            fail(format!(
                "loan type {}: {} rows, want {}",
                t + 1,
                stats.by_type[t],
                plan::BASE_TYPE_COUNTS[t] * s
            ));
        }
    }
    if stats.in_range != plan::BASE_IN_RANGE * s {
        fail(format!(
            "{} rows in range, want {}",
            stats.in_range,
            plan::BASE_IN_RANGE * s
        ));
    }
    if stats.max_amount != plan::MAX_AMOUNT {
        fail(format!(
            "max loan_amount {}, want {}",
            stats.max_amount,
            plan::MAX_AMOUNT
        ));
    }
    if let Some(i) = (0..72).find(|&i| stats.in_range_by_county[i] == 0) {
        fail(format!(
            "county {} ({}) has no in-range rows",
            counties[i].code, counties[i].name
        ));
    }
    std::fs::rename(&tmp, &args.out)
        .unwrap_or_else(|e| panic!("cannot rename to {}: {e}", args.out.display()));
    if !args.quiet {
        eprintln!(
            "datagen: wrote {} (seed {}, scale {}): {} loans (types {:?}), {} with 30000 < loan_amount < 800000, \
             {} NULL county, {} NULL income, max loan_amount {}; {:.1} MiB SQL, {:.1} MiB gzip, {:.1} s",
            args.out.display(),
            args.seed,
            s,
            stats.total,
            stats.by_type,
            stats.in_range,
            stats.null_county,
            stats.null_income,
            stats.max_amount,
            stats.bytes_sql as f64 / 1048576.0,
            gz_bytes as f64 / 1048576.0,
            t0.elapsed().as_secs_f64()
        );
    }
}
