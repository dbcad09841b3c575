//! Objective voice quality under impairment: PESQ (ITU-T P.862) of the same speech sent by
//! one fixed sender (baresip playing a WAV) and received and recorded once by this agent and
//! once by baresip, under the same network conditions (clean, 3% and 10% loss, 40 ms
//! jitter, in a network namespace of the run's own: benches/pesq/netns.rs), for Opus,
//! G.722 and PCMU.
//! What differs between the two receivers is their jitter buffer and loss concealment (and
//! FEC, where the sender sends it). Writes the table into docs/benchmarks.md (between the
//! pesq markers) and docs/pesq.json.
//!
//! `make bench-pesq` (which makes the virtualenv first: scripts/pesq-venv.sh), or
//! `cargo bench --bench pesq`, as root (it runs itself again under `unshare --net`).
//! Environment: `PESQ_CODECS` (default `opus,g722,pcmu`), `PESQ_CONDITIONS`
//! (`clean,loss3,loss10,jitter40`), `PESQ_RECEIVERS` (`softphone,baresip`), `PESQ_REPEATS`
//! (3: calls per cell, the two receivers alternating), `PESQ_CAPTURE` (`devices`: what
//! each receiver plays to the default output, a PulseAudio null sink, recorded from its
//! monitor; `files`: the agent's `file16k:`/`file:` output and baresip's `sndfile`
//! recording, see benches/pesq/call.rs), `PESQ_BARESIP_PLC` (`1`: baresip
//! receives with its `plc` module; `0`: as it ships, without), `PESQ_KEEP` (a directory to
//! keep every call's files in), `PESQ_WRITE` (`1`: write the docs; `0`: print only).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "pesq/mod.rs"]
mod pesq;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pesq::call::{Bench, Capture, Codec, Receiver};
use pesq::netns::{Condition, Entered, Impairment};
use pesq::report::{Cell, Machine, Plan, Run};

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter this harness ignores.
    if !testbed::require_tools(
        "pesq",
        &[
            "kamailio",
            "kamcmd",
            "baresip",
            "espeak-ng",
            "sox",
            "unshare",
            "ip",
            "iptables",
            "pulseaudio",
            "pactl",
            "parec",
        ],
    ) {
        return;
    }
    if let Err(e) = pesq::score::python() {
        panic!("pesq: {e}");
    }
    match pesq::netns::enter() {
        Ok(Entered::Inside) => {}
        Ok(Entered::Done(code)) => std::process::exit(code),
        Err(e) => panic!("pesq: {e}"),
    }
    let list = |var: &str, default: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let codecs: Vec<Codec> = list("PESQ_CODECS", "opus,g722,pcmu")
        .iter()
        .map(|n| Codec::from_name(n).unwrap_or_else(|| panic!("PESQ_CODECS: unknown {n:?}")))
        .collect();
    let conditions: Vec<Condition> = list("PESQ_CONDITIONS", "clean,loss3,loss10,jitter40")
        .iter()
        .map(|n| {
            Condition::from_name(n).unwrap_or_else(|| panic!("PESQ_CONDITIONS: unknown {n:?}"))
        })
        .collect();
    let receivers: Vec<Receiver> = list("PESQ_RECEIVERS", "softphone,baresip")
        .iter()
        .map(|n| Receiver::from_name(n).unwrap_or_else(|| panic!("PESQ_RECEIVERS: unknown {n:?}")))
        .collect();
    let repeats: usize = std::env::var("PESQ_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let baresip_plc = std::env::var("PESQ_BARESIP_PLC").map_or(true, |v| v != "0");
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let work: PathBuf = std::env::var_os("PESQ_KEEP")
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.path().to_path_buf());
    std::fs::create_dir_all(&work).expect("the work directory");
    let mut machine = Machine::start();
    let speech = pesq::speech::make(&work).unwrap_or_else(|e| panic!("pesq: {e}"));
    let total = repeats * codecs.len() * conditions.len() * receivers.len();
    let kam = testbed::Kamailio::start_with_lifetime(
        testbed::KamailioOptions::md5(),
        (speech.duration + Duration::from_secs(20)) * total as u32 + Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("pesq: Kamailio: {e}"));
    let capture = std::env::var("PESQ_CAPTURE")
        .ok()
        .map(|v| Capture::from_name(&v).unwrap_or_else(|| panic!("PESQ_CAPTURE: unknown {v:?}")))
        .unwrap_or(Capture::Devices);
    // The sound server both receivers play to, for the whole run; its variables go into
    // this process's environment before any peer starts, so every peer finds it.
    let pulse = (capture == Capture::Devices).then(|| {
        let p = testbed::pulse::Pulse::start(testbed::pulse::PulseOptions {
            lifetime: (speech.duration + Duration::from_secs(30)) * total as u32
                + Duration::from_secs(60),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("pesq: PulseAudio: {e}"));
        for (k, v) in p.env() {
            std::env::set_var(k, v);
        }
        p
    });
    let bench = Bench {
        capture,
        pulse: pulse.as_ref(),
        speech: &speech,
        kam: &kam,
        baresip_plc,
    };
    let mut impairment = Impairment::new();
    let mut cells: Vec<Cell> = Vec::new();
    let mut done = 0;
    // Repeat the whole plan rather than each cell: a drift in the machine's load then spreads
    // over every cell, and the receivers alternate call by call.
    for rep in 0..repeats {
        for &codec in &codecs {
            for &cond in &conditions {
                for &rx in &receivers {
                    done += 1;
                    let dir = work.join(format!(
                        "{}-{}-{}-{rep}",
                        codec.name(),
                        cond.name(),
                        rx.name()
                    ));
                    // One seed per codec, condition and repetition: both receivers of a
                    // comparison face the same losses and delays.
                    let seed = format!("{}-{}-{rep}", codec.name(), cond.name());
                    let run = measure(&bench, rx, codec, cond, &seed, &mut impairment, &dir);
                    println!(
                        "[{done}/{total}] {} {} {}: {}",
                        codec.name(),
                        cond.name(),
                        rx.name(),
                        describe(&run)
                    );
                    let cell = match cells
                        .iter_mut()
                        .position(|c| c.codec == codec && c.condition == cond && c.receiver == rx)
                    {
                        Some(i) => &mut cells[i],
                        None => {
                            cells.push(Cell {
                                codec,
                                condition: cond,
                                receiver: rx,
                                runs: Vec::new(),
                            });
                            cells.last_mut().expect("just pushed")
                        }
                    };
                    cell.runs.push(run);
                }
            }
        }
    }
    drop(impairment);
    machine.end();
    let plan = Plan {
        capture,
        repeats,
        speech_s: speech.duration.as_secs_f64(),
        baresip_plc,
    };
    let section = pesq::report::markdown(&cells, &machine, &plan);
    println!("{section}");
    if std::env::var("PESQ_WRITE").map_or(true, |v| v != "0") {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        pesq::report::write(
            &root.join("docs/benchmarks.md"),
            &root.join("docs/pesq.json"),
            &section,
            &pesq::report::json(&cells, &machine, &plan),
        )
        .unwrap_or_else(|e| panic!("pesq: {e}"));
        println!("written: docs/benchmarks.md (pesq section), docs/pesq.json");
    }
}

/// One call and its score; a failure (a peer's panic included) is kept as the run's error.
fn measure(
    bench: &Bench,
    rx: Receiver,
    codec: Codec,
    cond: Condition,
    seed: &str,
    impairment: &mut Impairment,
    dir: &Path,
) -> Run {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let received = pesq::call::one(bench, rx, codec, cond, seed, impairment, dir)?;
        let score = pesq::score::score(bench.speech.at(codec.rate()), &received.wav)?;
        Ok::<_, String>((score, received))
    }));
    impairment.clear();
    match outcome {
        Ok(Ok((score, received))) => Run {
            score: Some(score),
            encoder: Some(received.encoder),
            impaired: serde_json::from_str(&received.impaired).ok(),
            quality: received.quality,
            error: None,
        },
        Ok(Err(e)) => Run {
            score: None,
            encoder: None,
            impaired: None,
            quality: None,
            error: Some(e),
        },
        Err(panic) => Run {
            score: None,
            encoder: None,
            impaired: None,
            quality: None,
            error: Some(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".to_owned()),
            ),
        },
    }
}

fn describe(run: &Run) -> String {
    match (&run.score, &run.error) {
        (Some(s), _) => match s.pesq {
            Some(p) => format!(
                "PESQ {p:.2} (speech at {:.0} ms, correlation {:.2}; {}){}",
                s.lag_ms.unwrap_or(0.0),
                s.peak.unwrap_or(0.0),
                run.encoder.as_deref().unwrap_or(""),
                run.quality.as_ref().map_or(String::new(), |q| format!(
                    "; the agent: lost {}, late {}, concealed {} ms, playout delay {} ms",
                    q["packets_lost"], q["late"], q["concealed_ms"], q["playout_delay_ms"]
                ))
            ),
            None => format!("not scored: {}", s.why.as_deref().unwrap_or("?")),
        },
        (None, Some(e)) => format!("failed: {}", e.lines().next().unwrap_or("")),
        (None, None) => "?".to_owned(),
    }
}
