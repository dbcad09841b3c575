//! `softphone callcenter-xml` as an admin runs it: the printed file has the structure
//! Salesforce's Call Center import requires, and bad values are refused naming the flag.

#[allow(dead_code)]
#[path = "../src/callcenter/structure.rs"]
mod structure;

use std::process::{Command, Output};

fn softphone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_softphone"))
        .args(args)
        .output()
        .expect("run the softphone binary")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prints_an_importable_call_center_file() {
    let out = softphone(&[
        "callcenter-xml",
        "--adapter-url",
        "https://acme--c.vf.force.com/apex/Softphone?bridge=http://127.0.0.1:18099&x=1",
        "--name",
        "Acme <Support> & Sales",
        "--internal-name",
        "AcmeSoftphone",
        "--bridge-port",
        "18099",
        "--height",
        "640",
        "--width",
        "380",
        "--apex-upsert-class",
        "SoftphoneCallLog",
    ]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    // An https adapter needs no advice.
    assert_eq!(text(&out.stderr), "");
    let xml = text(&out.stdout);
    let cc = structure::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    structure::check(&cc).unwrap_or_else(|e| panic!("{e}\n{xml}"));

    let names: Vec<_> = cc.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["reqGeneralInfo", "softphoneBridge", "softphoneLogging"]
    );
    let general: Vec<_> = cc.sections[0]
        .items
        .iter()
        .map(|i| (i.name.as_str(), i.value.as_str()))
        .collect();
    assert_eq!(
        general,
        [
            ("reqInternalName", "AcmeSoftphone"),
            ("reqDisplayName", "Acme <Support> & Sales"),
            (
                "reqAdapterUrl",
                "https://acme--c.vf.force.com/apex/Softphone?bridge=http://127.0.0.1:18099&x=1"
            ),
            ("reqUseApi", "true"),
            ("reqSoftphoneHeight", "640"),
            ("reqSoftphoneWidth", "380"),
            ("reqSalesforceCompatibilityMode", "Lightning"),
        ]
    );
    let bridge = &cc.sections[1];
    assert_eq!(bridge.label, "Softphone Bridge");
    assert_eq!(
        (
            bridge.items[0].name.as_str(),
            bridge.items[0].label.as_str(),
            bridge.items[0].value.as_str()
        ),
        ("port", "Bridge Port", "18099")
    );
    let logging = &cc.sections[2];
    assert_eq!(logging.label, "Call logging");
    assert_eq!(
        (
            logging.items[0].name.as_str(),
            logging.items[0].label.as_str(),
            logging.items[0].value.as_str()
        ),
        (
            "apexUpsertClass",
            "Apex upsert class (optional)",
            "SoftphoneCallLog"
        )
    );
    // Escaped in the file itself, not only read back right.
    assert!(xml.contains("Acme &lt;Support&gt; &amp; Sales"), "{xml}");
}

#[test]
fn defaults_and_the_http_note() {
    let out = softphone(&[
        "callcenter-xml",
        "--adapter-url",
        "http://127.0.0.1:18088/softphone/",
    ]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let cc = structure::parse(&text(&out.stdout)).unwrap();
    structure::check(&cc).unwrap();
    let value = |name: &str| {
        cc.sections[0]
            .items
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.value.clone())
    };
    assert_eq!(value("reqSoftphoneHeight").as_deref(), Some("600"));
    assert_eq!(value("reqSoftphoneWidth").as_deref(), Some("360"));
    assert_eq!(cc.sections[1].items[0].value, "18088");
    // No Apex class by default: the item is there, empty, for Setup to fill in later.
    assert_eq!(cc.sections[2].items[0].name, "apexUpsertClass");
    assert_eq!(cc.sections[2].items[0].value, "");
    // An http adapter cannot run inside https Lightning: the admin is told, on stderr.
    let err = text(&out.stderr);
    assert!(err.contains("note:") && err.contains("https"), "{err}");
}

#[test]
fn a_bad_adapter_url_is_refused_naming_the_flag() {
    for url in [
        "ftp://example.com/softphone",
        "softphone.html",
        "javascript:alert(1)",
    ] {
        let out = softphone(&["callcenter-xml", "--adapter-url", url]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(
            out.stdout.is_empty(),
            "{url}: printed {}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("--adapter-url") && err.contains("http"),
            "{url}: {err}"
        );
    }
}

#[test]
fn out_of_range_sizes_and_bad_names_are_refused_naming_the_flag() {
    let url = "https://acme--c.vf.force.com/apex/Softphone";
    for (flag, value) in [
        ("--height", "100"),
        ("--width", "4000"),
        ("--internal-name", "has space"),
        (
            "--internal-name",
            "x123456789012345678901234567890123456789012",
        ),
        ("--bridge-port", "0"),
        ("--apex-upsert-class", "Softphone.CallLog"),
        ("--apex-upsert-class", "9Log"),
    ] {
        let out = softphone(&["callcenter-xml", "--adapter-url", url, flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(out.stdout.is_empty());
        let err = text(&out.stderr);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}
