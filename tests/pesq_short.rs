//! The PESQ harness (`make bench-pesq`, benches/pesq/) in short, so it does not rot, and as
//! a check a user would notice: two sentences of speech sent by baresip in PCMU to this
//! agent, once on a clean network and once with 3% of the sender's packets lost (seeded:
//! the same packets every run), each recorded by the agent's `file:` output and scored
//! with PESQ. The speech must come through clean (MOS-LQO at least 3.0, where a broken
//! path scores near 1) and stay understandable under the loss (at least 2.5), and the loss
//! must really have happened. No timing is judged.
//!
//! Runs as root: the test runs itself again under `unshare --net` (a network namespace of
//! its own, gone when it ends), and impairs with iptables' NFQUEUE there. Needs the
//! virtualenv of `make pesq-venv` (`make test` makes it).

mod common;
#[path = "../benches/pesq/mod.rs"]
mod pesq;

use std::process::Command;

use pesq::call::{Bench, Capture, Codec, Receiver};
use pesq::netns::{Condition, Impairment};

#[test]
fn speech_reaches_the_agent_clean_and_through_loss() {
    testbed::require!(
        "kamailio",
        "kamcmd",
        "baresip",
        "espeak-ng",
        "sox",
        "unshare",
        "ip",
        "iptables"
    );
    if let Err(e) = pesq::score::python() {
        panic!("{e}");
    }
    if std::env::var_os(pesq::netns::INSIDE).is_none() {
        // This test alone, again, inside a network namespace of its own.
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("unshare")
            .arg("--net")
            .arg("--")
            .arg(exe)
            .args([
                "--exact",
                "speech_reaches_the_agent_clean_and_through_loss",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(pesq::netns::INSIDE, "1")
            .output()
            .expect("run unshare --net (util-linux; as root)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("1 passed"),
            "the test inside its network namespace failed:\n{text}"
        );
        println!("{text}");
        return;
    }
    inside();
}

fn inside() {
    pesq::netns::enter().unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().unwrap();
    let speech = pesq::speech::make_from(work.path(), &pesq::speech::SENTENCES[..2]).unwrap();
    let kam = testbed::Kamailio::start(testbed::KamailioOptions::md5()).unwrap();
    let bench = Bench {
        capture: Capture::Files,
        pulse: None,
        speech: &speech,
        kam: &kam,
        baresip_plc: true,
    };
    let mut impairment = Impairment::new();
    let mut scores = Vec::new();
    for cond in [Condition::Clean, Condition::Loss3] {
        let dir = work.path().join(cond.name());
        let got = pesq::call::one(
            &bench,
            Receiver::Agent,
            Codec::Pcmu,
            cond,
            "pesq-short",
            &mut impairment,
            &dir,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", cond.name()));
        assert!(got.encoder.starts_with("PCMU"), "{}", got.encoder);
        let score = pesq::score::score(speech.at(8000), &got.wav).unwrap();
        println!("{}: {score:?} {}", cond.name(), got.impaired);
        let mos = score
            .pesq
            .unwrap_or_else(|| panic!("{}: not scored: {score:?}", cond.name()));
        if cond == Condition::Loss3 {
            let counts: serde_json::Value = serde_json::from_str(&got.impaired).unwrap();
            assert!(
                counts["dropped"].as_u64().unwrap_or(0) > 0,
                "no packet was lost: {counts}"
            );
        }
        scores.push((cond, mos));
    }
    let (clean, lossy) = (scores[0].1, scores[1].1);
    assert!(
        clean >= 3.0,
        "clean PCMU speech scored {clean:.2}: {scores:?}"
    );
    assert!(
        lossy >= 2.5,
        "PCMU speech through 3% loss scored {lossy:.2}: {scores:?}"
    );
}
