//! The peers harness (`cargo bench --bench peers`) in short, so it does not rot: this agent
//! and baresip, PCMU, a few seconds each, through the same Kamailio to the same echoing
//! baresip. It checks what the table would show is read off the right processes and calls:
//! both calls connect with the codec asked for, each program is seen using CPU in its call
//! (the wrappers around baresip would show none) and holding memory, and the table has both
//! rows and the goal line. Figures are not judged here: the bench judges them.

mod common;
#[path = "../benches/peers/mod.rs"]
mod peers;

use std::time::Duration;

use peers::measure::{Codec, Plan};
use peers::ua::Kind;

#[test]
fn the_agent_and_baresip_are_measured_side_by_side() {
    let Some(_turn) = common::device_call_turn(module_path!()) else {
        return;
    };
    let plan = Plan {
        uas: vec![Kind::Agent, Kind::Baresip],
        codecs: vec![Codec::Pcmu],
        idle: Duration::from_secs(2),
        idle_settle: Duration::from_secs(2),
        talk: Duration::from_secs(3),
        probe: Duration::from_secs(6),
    };
    let work = tempfile::tempdir().unwrap();
    let kam = peers::pbx(plan.duration()).unwrap();
    let rows = peers::measure::run(&plan, &kam, work.path()).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for row in &rows {
        assert_eq!(row.negotiated, "PCMU", "{row:#?}");
        assert!(row.call.cpu_pct > 0.0, "no CPU seen in the call: {row:#?}");
        assert!(row.call.rss_mb > 1.0 && row.idle.rss_mb > 1.0, "{row:#?}");
        assert!(row.call.threads >= 1, "{row:#?}");
        assert!(row.dial_to_connected_ms > 0.0, "{row:#?}");
    }
    let machine = peers::report::Machine::this();
    let table = peers::report::markdown(&rows, &[], &[], &machine, 3, 2, 2);
    assert!(table.contains("| softphone | pcmu | PCMU |"), "{table}");
    assert!(table.contains("| baresip | pcmu | PCMU |"), "{table}");
    assert!(table.contains("pcmu: CPU in call"), "{table}");
    // The delay probe: this agent answers, plays the clicks, hears them again through the
    // room and sends them back; most of them come back, later than the room's own delay.
    let delay_plan = Plan {
        uas: vec![Kind::Agent],
        ..plan
    };
    let delays = peers::measure::run_delays(&delay_plan, &kam).unwrap();
    let d = delays[0].delays.as_ref().unwrap();
    assert!(d.round_trips_ms.len() >= 2, "clicks lost: {d:?}");
    assert!(
        d.round_trips_ms
            .iter()
            .all(|ms| *ms > delays[0].loopback_ms as f64 && *ms < 800.0),
        "{d:?}"
    );
    let table = peers::report::markdown(&rows, &delays, &[], &machine, 3, 2, 2);
    eprintln!("{table}");
    assert!(table.contains("| softphone | 6 |"), "{table}");
    // SIPp load, briefly: the agent answers every call, and SIPp's statistics are read.
    let load_plan = peers::load::LoadPlan {
        uas: vec![Kind::Agent],
        rates: vec![4],
        span: Duration::from_secs(3),
        call: Duration::from_secs(1),
    };
    let load = peers::load::run(&load_plan, &kam, work.path()).unwrap();
    let step = &load[0].steps[0];
    assert_eq!(
        (step.calls, step.successful, step.failed),
        (12, 12, 0),
        "{step:?}"
    );
    let table = peers::report::markdown(&rows, &[], &load, &machine, 3, 2, 2);
    assert!(table.contains("| softphone | 4 | 12 | 12 | 0 |"), "{table}");
    // Spliced into a document, the section replaces the previous run's.
    let doc = format!(
        "# Benchmarks\n\n{}\n\nafter\n",
        peers::report::markdown(&rows, &[], &[], &machine, 1, 1, 1)
    );
    let twice = peers::report::splice(&peers::report::splice(&doc, &table), &table);
    assert_eq!(twice.matches(peers::report::BEGIN).count(), 1, "{twice}");
    assert!(twice.ends_with("after\n"), "{twice}");
}
