//! `softphone callcenter-xml`: the Call Center definition file an admin imports into Salesforce
//! (Setup > Call Centers > Import). Salesforce reads the adapter URL, the panel size and the
//! Lightning compatibility mode from `reqGeneralInfo`; the `softphoneBridge` and
//! `softphoneLogging` sections are ours, read by the page with `getCallCenterSettings`
//! (`/softphoneBridge/port`, `/softphoneLogging/apexUpsertClass`).

#[cfg(test)]
mod structure;

use std::fmt::Write as _;

/// Open CTI's limits for the softphone panel (`setSoftphonePanelHeight` / `Width`).
pub const HEIGHT_RANGE: (u32, u32) = (240, 2560);
pub const WIDTH_RANGE: (u32, u32) = (200, 1920);
/// Salesforce: reqInternalName is at most 40 characters; reqDisplayName at most 1000.
const MAX_INTERNAL_NAME: usize = 40;
const MAX_DISPLAY_NAME: usize = 1000;
/// Apex class names are at most 40 characters.
const MAX_APEX_CLASS: usize = 40;

/// What goes into the file; `Default` holds the command's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub adapter_url: String,
    pub display_name: String,
    pub internal_name: String,
    pub bridge_port: u16,
    pub height: u32,
    pub width: u32,
    /// The Apex class the page logs calls through (`runApex`), empty for `saveLog` only.
    pub apex_upsert_class: String,
}

impl Default for Definition {
    fn default() -> Self {
        Definition {
            adapter_url: String::new(),
            display_name: "Softphone".into(),
            internal_name: "Softphone".into(),
            bridge_port: 18088,
            height: 600,
            width: 360,
            apex_upsert_class: String::new(),
        }
    }
}

/// A value the file cannot hold; the message names the command-line flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct Error {
    pub flag: &'static str,
    pub message: String,
}

fn err(flag: &'static str, message: impl Into<String>) -> Error {
    Error {
        flag,
        message: message.into(),
    }
}

/// XML 1.0 cannot carry most control characters, escaped or not.
fn xml_safe(flag: &'static str, value: &str) -> Result<(), Error> {
    match value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some(c) => Err(err(
            flag,
            format!("contains the control character U+{:04X}", c as u32),
        )),
        None => Ok(()),
    }
}

fn check_adapter_url(url: &str) -> Result<(), Error> {
    const FLAG: &str = "--adapter-url";
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .ok_or_else(|| {
            err(
                FLAG,
                format!("{url:?} is not an http:// or https:// URL (Salesforce frames the adapter URL in the softphone panel)"),
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.contains('@') {
        return Err(err(FLAG, format!("{url:?} has no host (or has user info)")));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(err(FLAG, format!("{url:?} contains white space")));
    }
    xml_safe(FLAG, url)
}

fn check_internal_name(name: &str) -> Result<(), Error> {
    const FLAG: &str = "--internal-name";
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_INTERNAL_NAME;
    if ok {
        Ok(())
    } else {
        Err(err(
            FLAG,
            format!("{name:?} must start with a letter and hold only letters, digits and underscores, at most {MAX_INTERNAL_NAME} characters"),
        ))
    }
}

/// Empty (no class) or an Apex identifier; the page passes it to `runApex` as is.
fn check_apex_class(name: &str) -> Result<(), Error> {
    const FLAG: &str = "--apex-upsert-class";
    let ok = name.is_empty()
        || (name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= MAX_APEX_CLASS);
    if ok {
        Ok(())
    } else {
        Err(err(
            FLAG,
            format!("{name:?} is not an Apex class name: it must start with a letter and hold only letters, digits and underscores, at most {MAX_APEX_CLASS} characters"),
        ))
    }
}

fn check_display_name(name: &str) -> Result<(), Error> {
    const FLAG: &str = "--name";
    if name.trim().is_empty() {
        return Err(err(FLAG, "must not be empty"));
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(err(
            FLAG,
            format!("longer than {MAX_DISPLAY_NAME} characters"),
        ));
    }
    xml_safe(FLAG, name)
}

fn check_range(flag: &'static str, value: u32, (lo, hi): (u32, u32)) -> Result<(), Error> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(err(
            flag,
            format!("{value} is outside Open CTI's limits ({lo}-{hi} px)"),
        ))
    }
}

/// Checks every value; the first problem is returned.
pub fn validate(d: &Definition) -> Result<(), Error> {
    check_adapter_url(&d.adapter_url)?;
    check_display_name(&d.display_name)?;
    check_internal_name(&d.internal_name)?;
    if d.bridge_port == 0 {
        return Err(err("--bridge-port", "must be a port from 1 to 65535"));
    }
    check_range("--height", d.height, HEIGHT_RANGE)?;
    check_range("--width", d.width, WIDTH_RANGE)?;
    check_apex_class(&d.apex_upsert_class)
}

/// Advice that does not stop the file from being written (printed on stderr).
pub fn notes(d: &Definition) -> Vec<String> {
    let mut notes = Vec::new();
    if d.adapter_url.to_ascii_lowercase().starts_with("http://") {
        notes.push(
            "the adapter URL is http://: Lightning runs on https and Open CTI refuses an adapter \
             page whose scheme differs, so this file only suits a development console; \
             in an org use an https page (see docs/admin-guide.md)"
                .into(),
        );
    }
    notes
}

/// Escapes text and attribute values (both quote kinds, so any context is safe).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

struct Section<'a> {
    name: &'a str,
    label: &'a str,
    items: Vec<(&'a str, &'a str, String)>,
}

/// The Call Center definition file for `d`, or the first value it cannot hold.
pub fn build(d: &Definition) -> Result<String, Error> {
    validate(d)?;
    let sections = [
        Section {
            name: "reqGeneralInfo",
            label: "General Information",
            items: vec![
                ("reqInternalName", "Internal Name", d.internal_name.clone()),
                ("reqDisplayName", "Display Name", d.display_name.clone()),
                ("reqAdapterUrl", "CTI Adapter URL", d.adapter_url.clone()),
                ("reqUseApi", "Use CTI API", "true".into()),
                (
                    "reqSoftphoneHeight",
                    "Softphone Height",
                    d.height.to_string(),
                ),
                ("reqSoftphoneWidth", "Softphone Width", d.width.to_string()),
                (
                    "reqSalesforceCompatibilityMode",
                    "Salesforce Compatibility Mode",
                    "Lightning".into(),
                ),
            ],
        },
        Section {
            name: "softphoneBridge",
            label: "Softphone Bridge",
            items: vec![("port", "Bridge Port", d.bridge_port.to_string())],
        },
        // Always present, so an admin can fill it in Setup later without a new import.
        Section {
            name: "softphoneLogging",
            label: "Call logging",
            items: vec![(
                "apexUpsertClass",
                "Apex upsert class (optional)",
                d.apex_upsert_class.clone(),
            )],
        },
    ];
    let mut xml = String::new();
    xml.push_str(
        "<!-- Call Center definition for the softphone. Import it in Setup > Call Centers > Import,\n     \
         then add users to the call center. reqInternalName cannot change after import. -->\n",
    );
    xml.push_str("<callCenter>\n");
    for (s_order, s) in sections.iter().enumerate() {
        let _ = writeln!(
            xml,
            "  <section sortOrder=\"{s_order}\" name=\"{}\" label=\"{}\">",
            escape(s.name),
            escape(s.label)
        );
        for (i_order, (name, label, value)) in s.items.iter().enumerate() {
            let _ = writeln!(
                xml,
                "    <item sortOrder=\"{i_order}\" name=\"{}\" label=\"{}\">{}</item>",
                escape(name),
                escape(label),
                escape(value)
            );
        }
        xml.push_str("  </section>\n");
    }
    xml.push_str("</callCenter>\n");
    Ok(xml)
}

#[cfg(test)]
mod tests {
    use super::structure::{check, parse};
    use super::*;

    fn def(url: &str) -> Definition {
        Definition {
            adapter_url: url.into(),
            ..Definition::default()
        }
    }

    #[test]
    fn default_file_has_the_documented_structure() {
        let xml = build(&def("https://acme--c.vf.force.com/apex/Softphone")).unwrap();
        let cc = parse(&xml).unwrap();
        check(&cc).unwrap();
        let general = &cc.sections[0];
        assert_eq!(general.name, "reqGeneralInfo");
        let value = |name: &str| {
            general
                .items
                .iter()
                .find(|i| i.name == name)
                .map(|i| i.value.as_str())
        };
        assert_eq!(value("reqInternalName"), Some("Softphone"));
        assert_eq!(
            value("reqAdapterUrl"),
            Some("https://acme--c.vf.force.com/apex/Softphone")
        );
        assert_eq!(value("reqUseApi"), Some("true"));
        assert_eq!(value("reqSoftphoneHeight"), Some("600"));
        assert_eq!(value("reqSoftphoneWidth"), Some("360"));
        assert_eq!(value("reqSalesforceCompatibilityMode"), Some("Lightning"));
        let bridge = &cc.sections[1];
        assert_eq!(
            (bridge.name.as_str(), bridge.label.as_str()),
            ("softphoneBridge", "Softphone Bridge")
        );
        assert_eq!(bridge.items.len(), 1);
        assert_eq!(
            (
                bridge.items[0].name.as_str(),
                bridge.items[0].label.as_str(),
                bridge.items[0].value.as_str()
            ),
            ("port", "Bridge Port", "18088")
        );
        // No Apex class unless asked for: the page then logs with saveLog.
        let logging = &cc.sections[2];
        assert_eq!(
            (logging.name.as_str(), logging.label.as_str()),
            ("softphoneLogging", "Call logging")
        );
        assert_eq!(logging.items.len(), 1);
        assert_eq!(
            (
                logging.items[0].name.as_str(),
                logging.items[0].label.as_str(),
                logging.items[0].value.as_str()
            ),
            ("apexUpsertClass", "Apex upsert class (optional)", "")
        );
        assert_eq!(cc.sections.len(), 3);
    }

    #[test]
    fn the_apex_upsert_class_is_written_and_must_be_an_apex_name() {
        let with = |name: &str| Definition {
            apex_upsert_class: name.into(),
            ..def("https://acme--c.vf.force.com/apex/Softphone")
        };
        for good in ["SoftphoneCallLog", "Acme_CallLog2", &"C".repeat(40)] {
            let xml = build(&with(good)).unwrap();
            let cc = parse(&xml).unwrap();
            check(&cc).unwrap();
            let logging = cc
                .sections
                .iter()
                .find(|s| s.name == "softphoneLogging")
                .unwrap();
            assert_eq!(logging.items[0].name, "apexUpsertClass");
            assert_eq!(logging.items[0].value, good);
        }
        for bad in [
            "2ndClass",
            "_Leading",
            "Soft phone",
            "Softphone.CallLog",
            "Call-Log",
            "Log<script>",
            "Café",
            &"C".repeat(41),
        ] {
            let e = build(&with(bad)).unwrap_err();
            assert_eq!(e.flag, "--apex-upsert-class", "{bad:?}: {e}");
            assert!(e.to_string().contains("Apex class name"), "{e}");
        }
    }

    #[test]
    fn values_are_escaped_and_read_back_unchanged() {
        let d = Definition {
            adapter_url: "https://x.example/p?a=1&b=<2>&c=\"'".into(),
            display_name: "Sales & Support <EMEA> \"north\" 'n' é".into(),
            internal_name: "Sales_EMEA_2".into(),
            bridge_port: 18099,
            height: 2560,
            width: 200,
            apex_upsert_class: "SoftphoneCallLog".into(),
        };
        let xml = build(&d).unwrap();
        assert!(!xml.contains("<EMEA>") && !xml.contains("&b=<2>"));
        assert!(xml.contains("Sales &amp; Support &lt;EMEA&gt; &quot;north&quot; &apos;n&apos; é"));
        let cc = parse(&xml).unwrap();
        check(&cc).unwrap();
        let items = &cc.sections[0].items;
        assert_eq!(items[1].value, d.display_name);
        assert_eq!(items[2].value, d.adapter_url);
        assert_eq!(items[4].value, "2560");
        assert_eq!(items[5].value, "200");
        assert_eq!(cc.sections[1].items[0].value, "18099");
        assert_eq!(cc.sections[2].items[0].value, "SoftphoneCallLog");
    }

    #[test]
    fn adapter_url_must_be_http_or_https_with_a_host() {
        for bad in [
            "",
            "ftp://host/x",
            "javascript:alert(1)",
            "//host/x",
            "/apex/Softphone",
            "https://",
            "https:///path",
            "http://user@host/",
            "https://host/a b",
        ] {
            let e = build(&def(bad)).unwrap_err();
            assert_eq!(e.flag, "--adapter-url", "{bad:?}: {e}");
        }
        for good in [
            "http://127.0.0.1:18088/softphone/",
            "HTTPS://Acme.my.salesforce.com/apex/Softphone?bridge=http://127.0.0.1:18088",
        ] {
            build(&def(good)).unwrap();
        }
    }

    #[test]
    fn names_sizes_and_port_are_checked_against_salesforce_limits() {
        let base = def("https://h.example/");
        let cases: Vec<(Definition, &str)> = vec![
            (
                Definition {
                    internal_name: "has space".into(),
                    ..base.clone()
                },
                "--internal-name",
            ),
            (
                Definition {
                    internal_name: "1starts_with_digit".into(),
                    ..base.clone()
                },
                "--internal-name",
            ),
            (
                Definition {
                    internal_name: "a".repeat(41),
                    ..base.clone()
                },
                "--internal-name",
            ),
            (
                Definition {
                    internal_name: "dash-ed".into(),
                    ..base.clone()
                },
                "--internal-name",
            ),
            (
                Definition {
                    display_name: "  ".into(),
                    ..base.clone()
                },
                "--name",
            ),
            (
                Definition {
                    display_name: "bell\u{7}".into(),
                    ..base.clone()
                },
                "--name",
            ),
            (
                Definition {
                    bridge_port: 0,
                    ..base.clone()
                },
                "--bridge-port",
            ),
            (
                Definition {
                    height: 239,
                    ..base.clone()
                },
                "--height",
            ),
            (
                Definition {
                    height: 2561,
                    ..base.clone()
                },
                "--height",
            ),
            (
                Definition {
                    width: 199,
                    ..base.clone()
                },
                "--width",
            ),
            (
                Definition {
                    width: 1921,
                    ..base.clone()
                },
                "--width",
            ),
        ];
        for (d, flag) in cases {
            let e = build(&d).unwrap_err();
            assert_eq!(e.flag, flag, "{d:?}");
            assert!(e.to_string().starts_with(flag), "{e}");
        }
        build(&Definition {
            internal_name: "a".repeat(40),
            height: 240,
            width: 1920,
            ..base
        })
        .unwrap();
    }

    #[test]
    fn http_adapter_urls_get_a_note_about_the_scheme_rule() {
        assert_eq!(notes(&def("http://127.0.0.1:18088/softphone/")).len(), 1);
        assert!(notes(&def("https://acme--c.vf.force.com/apex/Softphone")).is_empty());
    }

    #[test]
    fn the_checker_rejects_what_salesforce_rejects() {
        let good = build(&def("https://h.example/")).unwrap();
        check(&parse(&good).unwrap()).unwrap();
        let gap = good.replace("sortOrder=\"5\"", "sortOrder=\"9\"");
        assert!(check(&parse(&gap).unwrap())
            .unwrap_err()
            .contains("sortOrder"));
        let no_url = good.replace("reqAdapterUrl", "adapterUrl");
        assert!(check(&parse(&no_url).unwrap())
            .unwrap_err()
            .contains("reqAdapterUrl"));
        let long = good.replace("name=\"port\"", &format!("name=\"{}\"", "p".repeat(41)));
        assert!(check(&parse(&long).unwrap()).unwrap_err().contains("40"));
        assert!(parse("<callCenter><section>").is_err());
        assert!(parse("<callCenter>a & b</callCenter>").is_err());
    }
}
