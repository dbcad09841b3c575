//! The sound server goes away under open device streams (as when a desktop's PulseAudio or
//! PipeWire crashes or restarts): the error reaches the media side through `take_error`, and
//! `reopen_default` carries on once a server is back. Its own test binary: it kills and
//! restarts its private PulseAudio, which the other device tests share.

use std::thread;
use std::time::{Duration, Instant};

use media::device::{
    CaptureBackend, DeviceCapture, DevicePlayout, DeviceSpec, HostChoice, PlayoutBackend,
};
use testbed::pulse::{Pulse, PulseOptions};

fn run_both(cap: &mut DeviceCapture, out: &mut DevicePlayout, d: Duration) {
    let mut frame = vec![0.0f32; cap.frame_len()];
    let start = Instant::now();
    while start.elapsed() < d {
        cap.read_frame(&mut frame);
        out.write_frame(&frame).unwrap();
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn server_loss_is_reported_and_reopen_default_recovers() {
    testbed::require!("pulseaudio", "pacat", "pactl");
    let started = Instant::now();
    let mut p = Pulse::start(PulseOptions {
        lifetime: Duration::from_secs(60),
        ..PulseOptions::default()
    })
    .unwrap();
    // The only test in this binary: nothing else reads the environment concurrently.
    for (k, v) in p.env() {
        std::env::set_var(k, v);
    }
    let mut cap = DeviceCapture::open(&DeviceSpec::Default, 8000, HostChoice::PulseAudio).unwrap();
    let mut out = DevicePlayout::open(&DeviceSpec::Default, 8000, HostChoice::PulseAudio).unwrap();
    run_both(&mut cap, &mut out, Duration::from_millis(300));
    assert!(cap.take_error().is_none() && out.take_error().is_none());
    assert!(cap.stats().callbacks > 5, "{:?}", cap.stats());

    p.kill();
    let (mut cap_err, mut out_err) = (None, None);
    let mut frame = vec![0.0f32; 160];
    let t = Instant::now();
    while (cap_err.is_none() || out_err.is_none()) && t.elapsed() < Duration::from_secs(5) {
        // The media side goes on reading and writing: nothing blocks.
        cap.read_frame(&mut frame);
        out.write_frame(&frame).unwrap();
        if cap_err.is_none() {
            cap_err = cap.take_error();
        }
        if out_err.is_none() {
            out_err = out.take_error();
        }
        thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "after {:?}: capture {cap_err:?} / playout {out_err:?}",
        t.elapsed()
    );
    let cap_err = cap_err.unwrap_or_else(|| panic!("capture: {:?}", cap.stats()));
    let out_err = out_err.unwrap_or_else(|| panic!("playout: {:?}", out.stats()));
    assert!(cap_err.to_string().contains("mic.monitor"), "{cap_err}");
    assert!(out_err.to_string().contains("speaker"), "{out_err}");
    assert!(cap.stats().failed && out.stats().failed);
    // No server: the fallback fails with a clear error, and the old streams stay harmless.
    let e = cap.reopen_default().unwrap_err();
    eprintln!("reopen without a server: {e}");

    p.restart().unwrap();
    cap.reopen_default().unwrap();
    out.reopen_default().unwrap();
    run_both(&mut cap, &mut out, Duration::from_millis(400));
    let (cs, os) = (cap.stats(), out.stats());
    assert!(cs.callbacks > 5 && !cs.failed, "{cs:?}");
    assert!(os.callbacks > 5 && !os.failed, "{os:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    a_server_losing_time_gets_longer_playout_requests(&p);
}

/// Short playout requests (10 ms) on a server that keeps losing time (stalled three times,
/// as a loaded machine does to a sound server that does not run real-time): the playout
/// says so, and the streams opened after it ask for 20 ms. One stall is not enough: it is
/// what a stop and continue of the agent, or a suspend, looks like. Part of the one test of
/// this binary (the server is stalled under every stream of the process).
fn a_server_losing_time_gets_longer_playout_requests(p: &Pulse) {
    let mut out =
        DevicePlayout::open(&DeviceSpec::Default, 48_000, HostChoice::PulseAudio).unwrap();
    assert!(
        out.stats().description.contains("(10 ms callbacks)"),
        "{:?}",
        out.stats()
    );
    let frame = vec![0.0f32; out.frame_len()];
    let play = |out: &mut DevicePlayout, d: Duration| {
        let until = Instant::now() + d;
        let mut next = Instant::now();
        while Instant::now() < until {
            out.write_frame(&frame).unwrap();
            next += Duration::from_millis(20);
            thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    };
    play(&mut out, Duration::from_millis(1500));
    assert!(!out.losing_time(Instant::now()), "{:?}", out.stats());
    let mut losing = Vec::new();
    for _ in 0..3 {
        // The writer goes on during the stall (as the stream task does): the ring backs up
        // by what the server then skips.
        thread::scope(|s| {
            s.spawn(|| play(&mut out, Duration::from_millis(2200)));
            thread::sleep(Duration::from_millis(300));
            p.stall(Duration::from_millis(200)).unwrap();
        });
        losing.push(out.losing_time(Instant::now()));
    }
    let stats = out.stats();
    eprintln!("after three stalls: {losing:?} {stats:?}");
    assert_eq!(losing, [false, false, true], "{stats:?}");
    let again = DevicePlayout::open(&DeviceSpec::Default, 48_000, HostChoice::PulseAudio).unwrap();
    assert!(
        again.stats().description.contains("(20 ms callbacks)"),
        "{:?}",
        again.stats()
    );
}
