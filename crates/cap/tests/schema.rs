//! Our CAP documents against the published OASIS CAP 1.2 schema (schema/CAP-v1.2.xsd),
//! checked by libxml2's xmllint: a validator nobody on the team wrote.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/CAP-v1.2.xsd");

/// xmllint must be there: this test fails rather than skips, so a missing tool never
/// passes for a checked schema.
fn require_xmllint() {
    let found = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "xmllint is not installed (Debian package libxml2-utils). Install it with \
         scripts/lib/env.sh's ensure_xmllint, e.g. `. scripts/lib/env.sh && ensure_xmllint` \
         from the workspace root (scripts/test does this)"
    );
}

/// Runs `xmllint --noout --schema SCHEMA file`: whether it passed, and what it said.
fn xmllint(file: &Path) -> (bool, String) {
    let output = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", SCHEMA])
        .arg(file)
        .output()
        .expect("running xmllint");
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), said)
}

fn write(dir: &Path, name: &str, xml: &str) -> PathBuf {
    let path = dir.join(format!("{name}.xml"));
    std::fs::write(&path, xml).expect("writing the document");
    path
}

#[test]
fn our_documents_validate_against_the_cap_schema() {
    require_xmllint();
    let dir = tempfile::tempdir().unwrap();
    for (name, alert) in common::samples() {
        assert_eq!(alert.validate(), Ok(()), "{name} should be a valid alert");
        let xml = alert.to_xml();
        let (ok, said) = xmllint(&write(dir.path(), name, &xml));
        assert!(ok, "{name} fails the CAP 1.2 schema:\n{said}\n{xml}");
        assert!(said.contains("validates"), "{name}: {said}");
    }
}

/// Hand-written documents that break the schema must fail, so the check above can fail.
#[test]
fn broken_documents_fail_the_schema() {
    require_xmllint();
    let dir = tempfile::tempdir().unwrap();
    let good = common::storm().to_xml();

    // Sanity: the unmodified document passes, so each failure below is the change's doing.
    let (ok, said) = xmllint(&write(dir.path(), "good", &good));
    assert!(ok, "{said}");

    let swapped = good.replacen(
        "  <identifier>campus-2026-0041</identifier>\n  <sender>alerts@example.edu</sender>\n",
        "  <sender>alerts@example.edu</sender>\n  <identifier>campus-2026-0041</identifier>\n",
        1,
    );
    let zulu = good.replacen(
        "<sent>2026-12-05T06:00:00-05:00</sent>",
        "<sent>2026-12-05T11:00:00Z</sent>",
        1,
    );
    let fraction = good.replacen(
        "<sent>2026-12-05T06:00:00-05:00</sent>",
        "<sent>2026-12-05T06:00:00.5-05:00</sent>",
        1,
    );
    let headline_before_expires = good
        .replacen("    <headline>Campus closed today</headline>\n", "", 1)
        .replacen(
            "    <expires>",
            "    <headline>Campus closed today</headline>\n    <expires>",
            1,
        );
    let lowercase_status = good.replacen("<status>Actual</status>", "<status>actual</status>", 1);
    let wrong_namespace = good.replacen("emergency:cap:1.2", "emergency:cap:1.1", 1);

    for (name, xml) in [
        ("swapped", swapped),
        ("zulu", zulu),
        ("fraction", fraction),
        ("headline-before-expires", headline_before_expires),
        ("lowercase-status", lowercase_status),
        ("wrong-namespace", wrong_namespace),
    ] {
        assert_ne!(xml, good, "{name}: the edit did not apply");
        let (ok, said) = xmllint(&write(dir.path(), name, &xml));
        assert!(!ok, "{name} should fail the CAP 1.2 schema:\n{xml}");
        assert!(said.contains("fails to validate"), "{name}: {said}");
    }
}

#[test]
fn the_schema_is_the_oasis_one() {
    let text = std::fs::read_to_string(SCHEMA).unwrap();
    assert!(text.contains("<!-- Copyright OASIS Open 2010 All Rights Reserved -->"));
    assert!(text.contains("targetNamespace = \"urn:oasis:names:tc:emergency:cap:1.2\""));
}
