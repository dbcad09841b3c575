//! The stand-in Salesforce console's own tests (`tests/browser/console/console.test.mjs`, run
//! with `node --test`): its Open CTI answers the browser tests rely on, such as the Apex upsert
//! of call Tasks behaving as the class in docs/admin-guide.md. Node only, no browser; about a
//! second.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_stand_in_console_answers_as_salesforce_and_the_apex_class_do() {
    testbed::require!("node");
    let file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console/console.test.mjs");
    let out = Command::new("node")
        .arg("--test")
        .arg(&file)
        .output()
        .expect("run node --test");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "node --test {}:\n{report}",
        file.display()
    );
    // A runner that found no test would succeed too.
    let passed = report
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(passed.is_some_and(|n| n > 0), "no test ran:\n{report}");
}
