//! What one call record write costs: creating a record and moving it to a new state, each a
//! synced commit (WAL, synchronous=FULL). The agent runs the store on its own thread because
//! these are well above the ~100 µs its loop can spare.

use criterion::{criterion_group, criterion_main, Criterion};
use store::Store;
use wire::{CallState, CallView, Direction, Remote};

const NOW: &str = "2026-12-06T18:00:00Z";

fn view(id: String, state: CallState) -> CallView {
    let remote = Remote {
        number: "+15550102000".into(),
        display_name: None,
        uri: "sip:+15550102000@pbx.test".into(),
    };
    CallView::new(id, Direction::Outbound, state, remote, NOW.into())
}

fn writes(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path(), NOW).expect("store").store;
    let mut n = 0u64;
    c.bench_function("record_insert", |b| {
        b.iter(|| {
            n += 1;
            store
                .record(&view(format!("r1c{n}"), CallState::Ringing), NOW)
                .expect("written")
        })
    });
    let answered = view("r1c1".into(), CallState::Connected);
    c.bench_function("record_update", |b| {
        b.iter(|| store.record(&answered, NOW).expect("written"))
    });
    // A store of its own: the one above has thousands of ringing calls.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(dir.path(), NOW).expect("store").store;
    store.record(&answered, NOW).expect("written");
    let seconds = ["2026-12-06T18:00:01Z", "2026-12-06T18:00:02Z"];
    let mut tick = 0;
    c.bench_function("heartbeat_one_live_call", |b| {
        b.iter(|| {
            tick += 1;
            store.heartbeat(seconds[tick % 2]).expect("written")
        })
    });
}

criterion_group!(benches, writes);
criterion_main!(benches);
