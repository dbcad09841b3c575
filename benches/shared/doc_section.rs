//! A generated section of docs/benchmarks.md, between its begin and end markers, replaced
//! in place by a bench run (the peers and PESQ harnesses share this).

use std::fs;
use std::path::Path;

/// Replaces the section between `begin` and `end` in `doc` (or appends it when the markers
/// are missing). `section` carries the markers itself.
pub fn splice(doc: &str, section: &str, begin: &str, end: &str) -> String {
    match (doc.find(begin), doc.find(end)) {
        (Some(b), Some(e)) if e > b => {
            format!("{}{section}{}", &doc[..b], &doc[e + end.len()..])
        }
        _ => format!("{}\n{section}\n", doc.trim_end()),
    }
}

/// Writes `section` into `benchmarks` (between `begin` and `end`) and `json` to `json_path`.
pub fn write(
    benchmarks: &Path,
    json_path: &Path,
    section: &str,
    json: &str,
    markers: (&str, &str),
) -> Result<(), String> {
    let doc = fs::read_to_string(benchmarks)
        .map_err(|e| format!("read {}: {e}", benchmarks.display()))?;
    fs::write(benchmarks, splice(&doc, section, markers.0, markers.1))
        .map_err(|e| format!("write {}: {e}", benchmarks.display()))?;
    fs::write(json_path, json).map_err(|e| format!("write {}: {e}", json_path.display()))
}
