//! PESQ through `benches/pesq/score.py` in the project's virtualenv (`.venv-pesq`, made by
//! `scripts/pesq-venv.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// One recording's score.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Score {
    /// MOS-LQO (P.862.2 wideband at 16 kHz, P.862.1 at 8 kHz); `None` when nothing could be
    /// scored (then `why`).
    pub pesq: Option<f64>,
    #[serde(default)]
    pub why: Option<String>,
    /// Where the speech starts in the recording.
    #[serde(default)]
    pub lag_ms: Option<f64>,
    /// Normalised cross-correlation with the reference at that lag.
    #[serde(default)]
    pub peak: Option<f64>,
    #[serde(default)]
    pub received_s: Option<f64>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv's python, if `scripts/pesq-venv.sh` made it.
pub fn python() -> Result<PathBuf, String> {
    let py = root().join(".venv-pesq/bin/python");
    let ok = py.exists()
        && Command::new(&py)
            .args(["-c", "import pesq, numpy"])
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        Ok(py)
    } else {
        Err(format!(
            "{} cannot import pesq and numpy: run scripts/pesq-venv.sh (make bench-pesq does)",
            py.display()
        ))
    }
}

/// Scores `degraded` against `reference` (same rate, mono 16-bit).
pub fn score(reference: &Path, degraded: &Path) -> Result<Score, String> {
    let out = Command::new(python()?)
        .arg(root().join("benches/pesq/score.py"))
        .arg(reference)
        .arg(degraded)
        .output()
        .map_err(|e| format!("score.py: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "score.py {}: {}{}",
            degraded.display(),
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_str(text.trim()).map_err(|e| format!("score.py said {text:?}: {e}"))
}
