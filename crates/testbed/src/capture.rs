//! A packet capture on the loopback interface (tcpdump), for tests that check what crosses
//! the wire: e.g. that SIP over TLS carries no SIP text in clear.
//!
//! ```no_run
//! let capture = testbed::capture::Capture::start("tcp port 5061").unwrap();
//! // ... traffic ...
//! let pcap = capture.finish().unwrap();
//! assert!(!testbed::capture::contains(&pcap, b"SIP/2.0"));
//! ```

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;

use crate::paths::scratch_dir;
use crate::process::Guarded;
use crate::tools::tool;
use crate::TestbedError;

/// The longest a capture may run.
const LIFETIME: Duration = Duration::from_secs(300);

/// A running tcpdump writing every matching packet on `lo` to a pcap file.
pub struct Capture {
    dir: TempDir,
    process: Option<Guarded>,
}

impl Capture {
    /// Starts `tcpdump -i lo` with a BPF `filter` (e.g. `tcp port 5061`); returns once it
    /// is listening.
    pub fn start(filter: &str) -> Result<Capture, TestbedError> {
        let tcpdump = tool("tcpdump")?;
        let dir = scratch_dir("pcap-")?;
        let log_path = dir.path().join("tcpdump.log");
        let log =
            fs::File::create(&log_path).map_err(|e| TestbedError::io("create tcpdump.log", e))?;
        let pcap = dir.path().join("capture.pcap");
        let mut args: Vec<std::ffi::OsString> = vec![
            "-i".into(),
            "lo".into(),
            "-n".into(),
            // each packet written at once; whole packets; never drop to the tcpdump user
            // (it could not write in our scratch directory)
            "-U".into(),
            "-s".into(),
            "0".into(),
            "-Z".into(),
            "root".into(),
            "-w".into(),
            pcap.into(),
        ];
        args.extend(filter.split_whitespace().map(Into::into));
        let mut process = Guarded::spawn_logging(&tcpdump, &args, LIFETIME, dir.path(), log)?;
        let read_log = || fs::read_to_string(&log_path).unwrap_or_default();
        process.wait_ready(
            "tcpdump on lo",
            Duration::from_secs(10),
            Duration::from_millis(20),
            read_log,
            || read_log().contains("listening on").then_some(()),
        )?;
        Ok(Capture {
            dir,
            process: Some(process),
        })
    }

    fn pcap_path(&self) -> PathBuf {
        self.dir.path().join("capture.pcap")
    }

    /// Stops the capture; the pcap file's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, TestbedError> {
        if let Some(mut p) = self.process.take() {
            p.terminate(Duration::from_secs(5));
        }
        let path = self.pcap_path();
        fs::read(&path).map_err(|e| TestbedError::io(format!("read {}", path.display()), e))
    }
}

/// Whether `needle` appears anywhere in `haystack` (e.g. a pcap file's bytes).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// SIP in clear: what a capture of a TLS connection must not hold (start lines, methods,
/// our users, digest credentials, SDP and its keys).
pub const SIP_TEXT: [&[u8]; 8] = [
    b"SIP/2.0",
    b"REGISTER",
    b"INVITE",
    b"sip:100",
    b"Digest",
    b"m=audio",
    b"a=crypto",
    b"inline:",
];

/// Asserts `capture` holds TLS records of application data (content type 23, TLS 1.2/1.3
/// record version) and none of [`SIP_TEXT`] in clear.
pub fn assert_tls_only(capture: &[u8]) {
    assert!(
        contains(capture, &[0x17, 0x03, 0x03]),
        "no TLS records captured"
    );
    for text in SIP_TEXT {
        assert!(
            !contains(capture, text),
            "{:?} in clear on a TLS connection",
            String::from_utf8_lossy(text)
        );
    }
}
