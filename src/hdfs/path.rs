//! HDFS paths a client sends us, checked before any request leaves.

use crate::error::{Error, Result};

/// Longest path we accept; HDFS itself limits a path to 8000 bytes.
const MAX_PATH_LEN: usize = 4096;

/// Rejects paths HDFS would misread or that are not absolute, before any request is sent.
pub fn validate_path(path: &str) -> Result<()> {
    let reject = |why: &str| {
        Err(Error::InvalidInput(format!(
            "invalid path {:?}: {why}",
            shorten(path)
        )))
    };
    if path.is_empty() {
        return reject("empty; give an absolute HDFS path such as /hdma-wi-2021.parquet");
    }
    if !path.starts_with('/') {
        return reject("not absolute; HDFS paths start with /");
    }
    if path.len() > MAX_PATH_LEN {
        return reject(&format!(
            "{} bytes long, the limit is {MAX_PATH_LEN}",
            path.len()
        ));
    }
    if path
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return reject("contains control or undecodable characters");
    }
    if path
        .split('/')
        .any(|s| s == "." || s == ".." || s.contains(':'))
    {
        return reject("'.', '..' and ':' are not allowed in HDFS path components");
    }
    Ok(())
}

pub(super) fn shorten(path: &str) -> String {
    if path.len() <= 80 {
        return path.to_owned();
    }
    let cut = (0..=80)
        .rev()
        .find(|&i| path.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}...", &path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_paths_with_a_reason() {
        for bad in [
            "",
            "relative/path",
            "/../etc/passwd",
            "/a/./b",
            "/a\u{0}b",
            "/a\u{fffd}",
        ] {
            let err = validate_path(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid path"), "{bad:?}: {err}");
        }
        let long = format!("/{}", "x".repeat(10_000));
        assert!(
            validate_path(&long)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
        assert!(validate_path("/hdma-wi-2021.parquet").is_ok());
        assert!(validate_path("/partitions/55001.parquet").is_ok());
    }
}
