//! Service configuration: environment variables with defaults that match the Compose
//! deployment (`mysql:3306`, `hdfs://boss:9000`, `http://boss:9870`). The local cluster
//! overrides them (`dev/serve.sh env`, which reads `dev/mysql.sh env` and `dev/cluster.sh env`).
//! A variable that is set but unusable is an error naming it, never a silent default.

use std::{path::PathBuf, time::Duration};

/// Where the big export lives (fixed by the contract).
pub const EXPORT_PATH: &str = "/hdma-wi-2021.parquet";
/// Directory of the per-county files (fixed by the contract).
pub const PARTITION_DIR: &str = "/partitions";
/// Temporary files are written here and renamed into place, so readers never see a torn file.
pub const TMP_DIR: &str = "/.lender-tmp";
pub const EXPORT_REPLICATION: u32 = 2;
pub const PARTITION_REPLICATION: u32 = 1;
pub const BLOCK_SIZE: u64 = 1024 * 1024;
/// The HDFS user every request names when `LENDER_HDFS_USER` is unset. Stock Hadoop runs a
/// request that names no user as `dr.who`, which may not write under `/` (owned by root).
pub const DEFAULT_HDFS_USER: &str = "root";

#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC listen address.
    pub listen: String,
    /// `mysql://user:password@host:port/database`
    pub mysql_url: String,
    /// How long DbToHdfs keeps retrying to reach MySQL (it loads slowly at first start).
    pub mysql_wait: Duration,
    /// How long the export query may go without delivering a row (a frozen server, a table
    /// locked by another session, a dropped network path) before the export fails with a
    /// clear error; also the session's lock wait bound.
    pub mysql_stall: Duration,
    /// How the MySQL connection uses TLS (`LENDER_MYSQL_SSL_MODE`), named after the mysql
    /// client's `--ssl-mode` so its users recognise it.
    pub mysql_ssl_mode: SslMode,
    /// PEM file of the CA(s) trusted by `verify_ca` / `verify_identity` (`LENDER_MYSQL_SSL_CA`).
    pub mysql_ssl_ca: Option<PathBuf>,
    /// PEM file of the server's RSA public key (`LENDER_MYSQL_SERVER_PUBLIC_KEY`): lets
    /// caching_sha2_password's full authentication run over plaintext without asking the
    /// server for a key that anyone in the middle could replace.
    pub mysql_server_public_key: Option<PathBuf>,
    /// Whether that key may be asked of the server over plaintext
    /// (`LENDER_MYSQL_GET_SERVER_PUBLIC_KEY`, as the mysql client's `--get-server-public-key`).
    pub mysql_get_server_public_key: bool,
    /// Largest MySQL packet accepted (`LENDER_MYSQL_MAX_PACKET_MIB`): an export row is about a
    /// kilobyte, so a huge packet is a broken or hostile server, not data to buffer.
    pub mysql_max_packet: usize,
    /// `hdfs://host:port`
    pub hdfs_url: String,
    /// NameNode HTTP base, `http://host:9870`
    pub webhdfs_url: String,
    /// The user every HDFS request (hdfs-native RPC and WebHDFS `user.name`) runs as. The
    /// course's NameNode runs as root, which makes root HDFS's superuser, so root may write
    /// anywhere with permissions on; files we create are owned by this user.
    pub hdfs_user: String,
    /// Connect/read timeout towards one DataNode; bounds how long a dead node can stall us.
    pub datanode_timeout: Duration,
    /// redb file holding the queue, the job history and the partition table.
    pub db_path: PathBuf,
    /// Where the export spools its Parquet file while uploading it (as large as the file).
    pub spool_dir: PathBuf,
    /// Where Prometheus scrapes `/metrics` (`LENDER_METRICS_LISTEN`, default `0.0.0.0:9464`,
    /// so the image serves them whatever compose file runs it); `off`: no metrics endpoint.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Where the read-only web board answers (`LENDER_BOARD_LISTEN`, default `off`: an
    /// operator turns it on, e.g. `0.0.0.0:8080`; the Compose deployment does, and so does
    /// `dev/serve.sh`, at `127.0.0.1:8080`).
    pub board_listen: Option<std::net::SocketAddr>,
    /// How many partition jobs run at once. A county create mostly waits (on a stock
    /// cluster the DataNode's client sleeps 400 ms before its second ask to close the file),
    /// so after an export, when every county is created anew, 8 at once answer the burst's
    /// last county about twice as soon as 4 (bench/soak.py) for ~10 MiB more peak memory.
    pub partition_workers: usize,
    /// Upper bound on how long a gRPC call waits for its job.
    pub job_wait: Duration,
    /// Job history keeps at most this many jobs (finished ones go first, oldest first), and
    /// the queue as many finished tasks: every call for a county may create a job, so without
    /// a bound the store grows with the calls.
    pub history_max_jobs: usize,
    /// Finished jobs (and finished queue tasks) older than this are removed; the default keeps
    /// weeks of normal use for `lender jobs`.
    pub history_max_age: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        let db_path = PathBuf::from(env_or("LENDER_DB", "/var/lib/lender/lender.redb"));
        Ok(Config {
            listen: env_or("LENDER_LISTEN", "0.0.0.0:5000"),
            mysql_url: env_or("LENDER_MYSQL_URL", "mysql://root:abc@mysql:3306/CS544"),
            mysql_wait: Duration::from_secs(env_num("LENDER_MYSQL_WAIT_SECS", 180)?),
            mysql_stall: Duration::from_secs(env_num("LENDER_MYSQL_STALL_SECS", 30)?.max(1)),
            mysql_ssl_mode: env_or("LENDER_MYSQL_SSL_MODE", "preferred")
                .parse()
                .map_err(|e| format!("LENDER_MYSQL_SSL_MODE: {e}"))?,
            mysql_ssl_ca: env_path("LENDER_MYSQL_SSL_CA"),
            mysql_server_public_key: env_path("LENDER_MYSQL_SERVER_PUBLIC_KEY"),
            mysql_get_server_public_key: env_bool("LENDER_MYSQL_GET_SERVER_PUBLIC_KEY", false)?,
            mysql_max_packet: usize::try_from(env_num("LENDER_MYSQL_MAX_PACKET_MIB", 64)?)
                .ok()
                .and_then(|mib| mib.checked_mul(1 << 20))
                .filter(|&bytes| (1 << 20..=1 << 30).contains(&bytes))
                .ok_or(
                    "LENDER_MYSQL_MAX_PACKET_MIB must be between 1 and 1024 (MySQL's own ceiling)",
                )?,
            hdfs_url: env_or("LENDER_HDFS_URL", "hdfs://boss:9000"),
            webhdfs_url: env_or("LENDER_WEBHDFS_URL", "http://boss:9870"),
            hdfs_user: env_or("LENDER_HDFS_USER", DEFAULT_HDFS_USER),
            datanode_timeout: Duration::from_millis(env_num("LENDER_DATANODE_TIMEOUT_MS", 1500)?),
            db_path: db_path.clone(),
            spool_dir: match std::env::var("LENDER_SPOOL_DIR") {
                Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
                _ => db_path
                    .parent()
                    .map_or_else(|| PathBuf::from("spool"), |dir| dir.join("spool")),
            },
            metrics_listen: listen_or_off(
                "LENDER_METRICS_LISTEN",
                &env_or("LENDER_METRICS_LISTEN", "0.0.0.0:9464"),
            )?,
            board_listen: listen_or_off(
                "LENDER_BOARD_LISTEN",
                &env_or("LENDER_BOARD_LISTEN", "off"),
            )?,
            partition_workers: usize::try_from(env_num("LENDER_PARTITION_WORKERS", 8)?)
                .map_err(|e| format!("LENDER_PARTITION_WORKERS: {e}"))?,
            job_wait: Duration::from_secs(env_num("LENDER_JOB_WAIT_SECS", 1800)?),
            history_max_jobs: usize::try_from(env_num("LENDER_HISTORY_MAX_JOBS", 10_000)?)
                .map_err(|e| format!("LENDER_HISTORY_MAX_JOBS: {e}"))?,
            history_max_age: Duration::from_secs(
                env_num("LENDER_HISTORY_MAX_AGE_DAYS", 30)?.saturating_mul(24 * 60 * 60),
            ),
        })
    }
}

/// How the MySQL connection uses TLS; the mysql client's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// Never TLS.
    Disabled,
    /// TLS when the server offers it, plaintext otherwise; the certificate is not checked.
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS with a certificate signed by a trusted CA (`LENDER_MYSQL_SSL_CA`), any name.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyIdentity,
}

impl std::str::FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "disabled" => Ok(SslMode::Disabled),
            "preferred" => Ok(SslMode::Preferred),
            "required" => Ok(SslMode::Required),
            "verify_ca" => Ok(SslMode::VerifyCa),
            "verify_identity" => Ok(SslMode::VerifyIdentity),
            _ => Err(format!(
                "{text:?} is not one of disabled, preferred, required, verify_ca, verify_identity"
            )),
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SslMode::Disabled => "disabled",
            SslMode::Preferred => "preferred",
            SslMode::Required => "required",
            SslMode::VerifyCa => "verify_ca",
            SslMode::VerifyIdentity => "verify_identity",
        })
    }
}

fn env_path(key: &str) -> Option<PathBuf> {
    std::env::var_os(key)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `true`/`false` (also 1/0, yes/no, on/off) from `key`, an error naming it otherwise.
fn env_bool(key: &str, default: bool) -> Result<bool, String> {
    let value = env_or(key, if default { "true" } else { "false" });
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{key}={value:?} is neither true nor false")),
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The address an HTTP listener (metrics, board) binds, read from `key`'s `value`: `None`
/// for `off`, an error naming the variable and its value for anything else.
fn listen_or_off(key: &str, value: &str) -> Result<Option<std::net::SocketAddr>, String> {
    if value.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    value.trim().parse().map(Some).map_err(|e| {
        format!("{key}={value:?} is neither an IP:port address (such as 0.0.0.0:8080) nor off: {e}")
    })
}

/// A whole number from `key`, `default` when unset or empty, an error naming the variable and
/// its value when it is not a number.
fn env_num(key: &str, default: u64) -> Result<u64, String> {
    match std::env::var(key) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            format!("{key}={v:?} is not a whole number (unset it for the default {default})")
        }),
        _ => Ok(default),
    }
}

/// Final path of a county's file.
pub fn partition_path(county: i32) -> String {
    format!("{PARTITION_DIR}/{county}.parquet")
}

#[cfg(test)]
mod tests {
    use super::env_num;

    #[test]
    fn a_listen_setting_is_an_address_or_off() {
        let listen = |value| super::listen_or_off("LENDER_METRICS_LISTEN", value);
        assert_eq!(
            listen("0.0.0.0:9464").map(|a| a.map(|a| a.port())),
            Ok(Some(9464))
        );
        assert_eq!(listen(" OFF "), Ok(None));
        let err = listen("9464").unwrap_err();
        assert!(
            err.contains("LENDER_METRICS_LISTEN") && err.contains("9464"),
            "{err}"
        );
        let err = super::listen_or_off("LENDER_BOARD_LISTEN", "localhost:80").unwrap_err();
        assert!(
            err.contains("LENDER_BOARD_LISTEN") && err.contains("localhost:80"),
            "{err}"
        );
    }

    #[test]
    fn ssl_modes_read_as_the_mysql_client_spells_them() {
        use super::SslMode;
        assert_eq!("VERIFY_CA".parse(), Ok(SslMode::VerifyCa));
        assert_eq!("verify-identity".parse(), Ok(SslMode::VerifyIdentity));
        assert_eq!(" Preferred ".parse(), Ok(SslMode::Preferred));
        let err = "strict".parse::<SslMode>().unwrap_err();
        assert!(err.contains("strict") && err.contains("verify_ca"), "{err}");
        assert!(SslMode::Required > SslMode::Preferred && SslMode::Disabled < SslMode::Preferred);
        assert_eq!(SslMode::VerifyIdentity.to_string(), "verify_identity");
    }

    #[test]
    fn a_bad_number_is_an_error_naming_the_variable_and_value() {
        // SAFETY: this test alone uses these variable names
        unsafe {
            std::env::set_var("LENDER_TEST_BAD_NUM", "12s");
            std::env::set_var("LENDER_TEST_GOOD_NUM", " 42 ");
        }
        let err = env_num("LENDER_TEST_BAD_NUM", 7).unwrap_err();
        assert!(
            err.contains("LENDER_TEST_BAD_NUM") && err.contains("12s"),
            "{err}"
        );
        assert_eq!(env_num("LENDER_TEST_GOOD_NUM", 7), Ok(42));
        assert_eq!(env_num("LENDER_TEST_UNSET_NUM", 7), Ok(7));
    }
}
