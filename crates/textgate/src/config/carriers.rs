//! The carrier file of an e-mail-to-SMS gateway (`driver.carriers`): which carriers run a
//! gateway and when theirs closed. Read here, with the rest of the configuration, because
//! it is configuration the sysadmin writes; what the table means is
//! `textgate_alerts::carrier`'s business, and the alert service uses it.

use std::path::{Path, PathBuf};

use textgate_alerts::CarrierTable;

/// Why the carrier file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CarrierFileError {
    #[error("cannot read the carrier file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the carrier file {path} is not a valid carrier table: {reason}")]
    Parse { path: PathBuf, reason: String },
}

/// Reads a carrier table from a TOML file (the format is in docs/smtp-legacy.md: one
/// `[[carriers]]` table per carrier, dates as quoted `"YYYY-MM-DD"` strings).
pub fn load_carrier_table(path: &Path) -> Result<CarrierTable, CarrierFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| CarrierFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    CarrierTable::from_toml(&text).map_err(|reason| CarrierFileError::Parse {
        path: path.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARRIERS: &str = r#"
[[carriers]]
id = "att"
name = "AT&T"
country_code = 1
sms_domain = "txt.att.net"
status = "shut-down"
since = "2025-06-17"
note = "AT&T notice KM1061254"

[[carriers]]
id = "campus"
name = "Campus Mobile"
country_code = 1
sms_domain = "sms.campus.test"
status = "active"
note = "test gateway"
"#;

    #[test]
    fn the_carrier_file_is_read_from_disk() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("carriers.toml");
        std::fs::write(&path, CARRIERS).expect("write the carrier file");
        let table = load_carrier_table(&path).expect("the test table loads");
        assert_eq!(
            table.get("att").map(|c| c.sms_domain.as_str()),
            Some("txt.att.net")
        );
        assert_eq!(table.all().len(), 2);

        std::fs::write(&path, "[[carriers]]\nid = \"x\"\n").expect("write a broken file");
        let broken = load_carrier_table(&path).expect_err("a carrier needs a name");
        expect_test::expect![
            "the carrier file FILE is not a valid carrier table: missing field `name`"
        ]
        .assert_eq(
            &broken
                .to_string()
                .replace(&path.display().to_string(), "FILE"),
        );

        std::fs::remove_file(&path).expect("remove the file");
        let missing = load_carrier_table(&path).expect_err("the file is gone");
        expect_test::expect![
            "cannot read the carrier file FILE: No such file or directory (os error 2)"
        ]
        .assert_eq(
            &missing
                .to_string()
                .replace(&path.display().to_string(), "FILE"),
        );
    }
}
