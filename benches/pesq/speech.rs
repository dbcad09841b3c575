//! The reference speech, made at run time: `espeak-ng` reads four Harvard sentences (IEEE
//! 1969, the usual material of speech-quality tests), `sox` resamples it to 16 kHz and 8 kHz
//! mono 16-bit, normalised to -3 dBFS peak, with 0.5 s of silence before and after.
//! Nothing is downloaded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const SENTENCES: [&str; 4] = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
];

/// The two reference files.
pub struct Speech {
    /// 16 kHz: what a wideband sender sends, and the reference of wideband scores.
    pub wide: PathBuf,
    /// 8 kHz: the same for narrowband.
    pub narrow: PathBuf,
    pub duration: Duration,
}

impl Speech {
    /// The reference at `rate` (16000 or 8000).
    pub fn at(&self, rate: u32) -> &Path {
        if rate == 16_000 {
            &self.wide
        } else {
            &self.narrow
        }
    }
}

/// Writes the reference files of all four sentences into `dir`.
pub fn make(dir: &Path) -> Result<Speech, String> {
    make_from(dir, &SENTENCES)
}

/// Writes the reference files of `sentences` into `dir`.
pub fn make_from(dir: &Path, sentences: &[&str]) -> Result<Speech, String> {
    let raw = dir.join("speech-espeak.wav");
    let wide = dir.join("speech-16k.wav");
    let narrow = dir.join("speech-8k.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(sentences.join(" ")))?;
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(&wide)
        .args(["gain", "-n", "-3", "pad", "0.5", "0.5"]))?;
    run(Command::new("sox")
        .arg(&wide)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&narrow))?;
    let w = testbed::audio::read_wav(&wide).map_err(|e| format!("{}: {e}", wide.display()))?;
    let duration = Duration::from_secs_f64(w.duration_secs());
    Ok(Speech {
        wide,
        narrow,
        duration,
    })
}

/// `sox IN -r RATE -c 1 -b 16 OUT`: a recording at the reference's rate, mono.
pub fn convert(input: &Path, rate: u32, output: &Path) -> Result<(), String> {
    run(Command::new("sox")
        .arg(input)
        .args(["-r", &rate.to_string(), "-c", "1", "-b", "16"])
        .arg(output))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| {
        format!("{cmd:?}: {e} (scripts/install-deps.sh installs espeak-ng and sox)")
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
