//! A synthetic pool of reporting institutions (LEIs) with a skewed volume distribution.

use crate::geo::County;
use crate::rng::{Dist, Rng, pow_det};

pub const N_LENDERS: usize = 640;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// national non-bank mortgage company: everywhere, refinance heavy, FHA/VA heavy
    Nonbank,
    /// large national bank: everywhere, buys loans from correspondents
    NationalBank,
    /// Wisconsin regional bank: statewide
    RegionalBank,
    /// community bank: a home county and a couple of neighbours
    CommunityBank,
    /// credit union: a home county and a couple of neighbours, little FHA/VA
    CreditUnion,
}

#[derive(Clone, Debug)]
pub struct Lender {
    pub lei: String,
    pub kind: Kind,
    /// partially exempt under EGRRCPA: many fields reported as Exempt / 1111
    pub exempt: bool,
    /// share of its records that are purchased loans (action_taken 6)
    pub purchase_share: f64,
    /// preferred credit score model
    pub score_model: i64,
    /// rate offset in percentage points
    pub rate_offset: f64,
    /// share of applications that came through a broker
    pub broker_share: f64,
    /// reports discount points / lender credits as paid
    pub points_prob: f64,
    /// prefers Freddie Mac over Fannie Mae when selling
    pub freddie: bool,
    /// uses an internal proprietary underwriting system
    pub internal_aus: bool,
    /// prefers rates on 1/8 grid (true) or on cents (false)
    pub eighths: bool,
    /// the lender's standard origination fees (dollars)
    pub fees: [f64; 3],
    volume: f64,
    home: Vec<usize>,
}

/// ISO 17442 check digits (ISO 7064 mod 97-10) for an 18-character LEI prefix.
pub fn lei_check_digits(prefix18: &str) -> String {
    let mut rem: u32 = 0;
    for ch in prefix18.chars().chain("00".chars()) {
        let v = ch.to_digit(36).expect("LEI chars are 0-9A-Z");
        if v >= 10 {
            rem = (rem * 100 + v) % 97;
        } else {
            rem = (rem * 10 + v) % 97;
        }
    }
    format!("{:02}", 98 - rem)
}

pub fn lei_is_valid(lei: &str) -> bool {
    if lei.len() != 20 {
        return false;
    }
    let mut rem: u32 = 0;
    for ch in lei.chars() {
        let Some(v) = ch.to_digit(36) else {
            return false;
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

const LOU_PREFIXES: [(&str, f64); 7] = [
    ("5493", 0.55),
    ("2549", 0.12),
    ("9845", 0.08),
    ("3003", 0.06),
    ("5299", 0.07),
    ("B4TY", 0.04),
    ("7H6G", 0.08),
];

fn make_lei(rng: &mut Rng) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = String::with_capacity(20);
    s.push_str(rng.pick(&LOU_PREFIXES));
    s.push_str("00");
    for _ in 0..12 {
        s.push(ALNUM[rng.below(36) as usize] as char);
    }
    let cd = lei_check_digits(&s);
    s.push_str(&cd);
    assert!(lei_is_valid(&s), "bad LEI {s}");
    s
}

pub struct Pool {
    pub lenders: Vec<Lender>,
    /// per county (index 72 = unknown county) and loan type (0..4): which lender files the record
    pub by_county_type: Vec<[Dist; 4]>,
}

pub fn build_pool(seed: u64, counties: &[County]) -> Pool {
    let mut rng = Rng::derive(seed, 0x6c65_6e64);
    let county_weights: Vec<f64> = counties.iter().map(|c| c.share).collect();
    let county_dist = Dist::new(&county_weights);
    let mut lenders = Vec::with_capacity(N_LENDERS);
    let mut seen = std::collections::HashSet::new();
    for rank in 0..N_LENDERS {
        let kind = if rank == 0 {
            Kind::Nonbank
        } else if rank < 40 {
            rng.pick(&[
                (Kind::Nonbank, 0.40),
                (Kind::NationalBank, 0.15),
                (Kind::RegionalBank, 0.22),
                (Kind::CreditUnion, 0.23),
            ])
        } else {
            rng.pick(&[
                (Kind::Nonbank, 0.36),
                (Kind::NationalBank, 0.06),
                (Kind::CommunityBank, 0.32),
                (Kind::CreditUnion, 0.26),
            ])
        };
        let mut lei = make_lei(&mut rng);
        while !seen.insert(lei.clone()) {
            lei = make_lei(&mut rng);
        }
        // Zipf-like volume with a little noise
        let volume = (1.0 / (pow_det(rank as f64 + 6.0, 1.12))) * (0.8 + 0.4 * rng.f64());
        let local = matches!(kind, Kind::CommunityBank | Kind::CreditUnion);
        let exempt = local && rank > 150 && rng.chance(0.55);
        let purchase_share = match kind {
            Kind::NationalBank => 0.25 + 0.45 * rng.f64(),
            Kind::RegionalBank => 0.02 + 0.15 * rng.f64(),
            Kind::Nonbank => {
                if rng.chance(0.25) {
                    0.3 + 0.5 * rng.f64()
                } else {
                    0.01 * rng.f64()
                }
            }
            _ => 0.004 * rng.f64(),
        };
        let score_model = rng.pick(&[(1, 0.22), (2, 0.38), (3, 0.28), (7, 0.07), (8, 0.05)]);
        let rate_offset = match kind {
            Kind::CreditUnion => -0.15,
            Kind::Nonbank => 0.10,
            _ => 0.0,
        } + 0.18 * rng.normalish();
        let broker_share = match kind {
            Kind::Nonbank => {
                if rng.chance(0.35) {
                    0.5 + 0.45 * rng.f64()
                } else {
                    0.03 * rng.f64()
                }
            }
            Kind::NationalBank => 0.1 * rng.f64(),
            _ => 0.02 * rng.f64(),
        };
        let home = if local || kind == Kind::RegionalBank {
            let n = match kind {
                Kind::RegionalBank => 12 + rng.below(30) as usize,
                _ => 1 + rng.below(4) as usize,
            };
            (0..n).map(|_| county_dist.sample(&mut rng)).collect()
        } else {
            Vec::new()
        };
        lenders.push(Lender {
            lei,
            kind,
            exempt,
            purchase_share,
            score_model,
            rate_offset,
            broker_share,
            points_prob: 0.15 + 0.5 * rng.f64(),
            freddie: rng.chance(0.4),
            internal_aus: local && rng.chance(0.3),
            eighths: rng.chance(0.7),
            fees: {
                let mut f = [0.0; 3];
                for x in f.iter_mut() {
                    *x = if rng.chance(0.08) {
                        0.0
                    } else {
                        395.0
                            + 100.0 * rng.below(17) as f64
                            + if rng.chance(0.2) { 50.0 } else { 0.0 }
                    };
                }
                f
            },
            volume,
            home,
        });
    }
    // Per county and loan type: lender weights = volume x footprint x product appetite.
    let mut by_county_type = Vec::with_capacity(counties.len() + 1);
    for ci in 0..=counties.len() {
        let mut per_type: Vec<Dist> = Vec::with_capacity(4);
        for t in 0..4 {
            let w: Vec<f64> = lenders
                .iter()
                .map(|l| {
                    let foot = if ci == counties.len() {
                        // unknown county: mostly the large non-local lenders
                        if l.home.is_empty() { 1.0 } else { 0.05 }
                    } else if l.home.is_empty() {
                        counties[ci].share
                    } else {
                        let hits = l.home.iter().filter(|&&h| h == ci).count() as f64;
                        // regional banks reach a bit beyond their branches
                        let spill = if l.kind == Kind::RegionalBank {
                            0.05 * counties[ci].share
                        } else {
                            0.0
                        };
                        hits / l.home.len() as f64 + spill
                    };
                    let appetite = match (l.kind, t) {
                        (_, 0) => 1.0,
                        (Kind::Nonbank, 1) => 2.2,
                        (Kind::Nonbank, 2) => 2.4,
                        (Kind::Nonbank, _) => 1.0,
                        (Kind::CreditUnion, 1 | 2) => 0.08,
                        (Kind::CreditUnion, _) => 0.2,
                        (Kind::CommunityBank, 1 | 2) => 0.25,
                        (Kind::CommunityBank, _) => 1.6,
                        (Kind::RegionalBank, 3) => 1.2,
                        _ => 0.6,
                    };
                    l.volume * foot * appetite
                })
                .collect();
            per_type.push(Dist::new(&w));
        }
        let arr: [Dist; 4] = per_type.try_into().expect("four loan types");
        by_county_type.push(arr);
    }
    Pool {
        lenders,
        by_county_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leis_are_valid_and_unique() {
        let counties = crate::geo::build_counties(1);
        let pool = build_pool(1, &counties);
        assert_eq!(pool.lenders.len(), N_LENDERS);
        let mut set = std::collections::HashSet::new();
        for l in &pool.lenders {
            assert!(lei_is_valid(&l.lei), "{}", l.lei);
            assert!(set.insert(l.lei.clone()));
        }
        // a real LEI (GLEIF's own) checks out
        assert!(lei_is_valid("506700GE1G29325QX363"));
    }
}
