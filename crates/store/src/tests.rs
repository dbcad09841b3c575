use super::*;
use std::sync::{Arc, Mutex};
use wire::{CallState, Remote};

const T0: &str = "2026-12-06T18:00:00Z";

fn view(id: &str, state: CallState) -> CallView {
    let remote = Remote {
        number: "+15550102000".into(),
        display_name: Some("Ada Lovelace".into()),
        uri: "sip:+15550102000@carrier.test".into(),
    };
    CallView::new(id.into(), Direction::Inbound, state, remote, T0.into())
}

fn answered(id: &str, state: CallState) -> CallView {
    CallView {
        answered_at: Some("2026-12-06T18:00:05Z".into()),
        ..view(id, state)
    }
}

/// Records `id` answered and in `state`, as of the answer.
fn record_answered(store: &mut Store, id: &str, state: CallState) {
    store
        .record(&answered(id, state), "2026-12-06T18:00:05Z")
        .expect("recorded");
}

fn open(dir: &Path) -> Opened {
    Store::open(dir, T0).expect("the store opens")
}

/// A fresh store in a temp dir (kept alive by the first half).
fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path()).store;
    (dir, store)
}

/// The record of call `id`, which must exist.
fn record_of(store: &Store, id: &str) -> HistoryEntry {
    store
        .get(id)
        .expect("read")
        .unwrap_or_else(|| panic!("{id} is recorded"))
}

#[test]
fn a_call_is_recorded_at_each_transition() {
    let (_dir, mut store) = fresh();
    store
        .record(&view("r1c1", CallState::Ringing), T0)
        .expect("created");
    let e = record_of(&store, "r1c1");
    assert_eq!(
        (e.ended_at.as_deref(), e.duration_s, e.end_reason),
        (None, 0, None)
    );

    record_answered(&mut store, "r1c1", CallState::Connected);
    store
        .record(&answered("r1c1", CallState::Held), "2026-12-06T18:00:30Z")
        .expect("held");
    assert_eq!(record_of(&store, "r1c1").duration_s, 25, "talk time so far");

    let ended = CallView {
        ended_at: Some("2026-12-06T18:01:05Z".into()),
        end_reason: Some(EndReason {
            code: "hangup_remote".into(),
            message: "the caller hung up".into(),
            sip_status: None,
        }),
        ..answered("r1c1", CallState::Ended)
    };
    store.record(&ended, "2026-12-06T18:01:05Z").expect("ended");
    let e = record_of(&store, "r1c1");
    assert_eq!(e.direction, Direction::Inbound);
    assert_eq!(e.remote.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(e.started_at, T0);
    assert_eq!(e.ended_at.as_deref(), Some("2026-12-06T18:01:05Z"));
    assert_eq!(e.duration_s, 60, "from answer to end");
    assert_eq!(e.end_reason.expect("a reason").code, "hangup_remote");
    assert_eq!(e.log_state, LogState::Pending);
    assert_eq!(store.outbox().expect("outbox").len(), 1);
}

#[test]
fn final_audio_figures_land_after_the_end() {
    let (_dir, mut store) = fresh();
    store
        .record(&answered("r1c1", CallState::Ended), T0)
        .expect("recorded");
    let q = CallQuality {
        packets_sent: 10,
        packets_received: 9,
        packets_lost: 1,
        late: 0,
        jitter_ms: 1.5,
        rtt_ms: None,
        concealed_ms: 20,
        playout_delay_ms: 40.0,
        mos: 4.2,
        junk: 0,
        digits_received: 0,
        srtp_auth_failed: 0,
        srtp_replayed: 0,
    };
    store.quality("r1c1", &q).expect("quality");
    // A later view without figures keeps them.
    store
        .record(&answered("r1c1", CallState::Ended), T0)
        .expect("recorded");
    assert_eq!(record_of(&store, "r1c1").quality, Some(q));
}

#[test]
fn a_call_left_live_by_a_crash_is_closed_as_interrupted_at_its_last_heartbeat() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut store = open(dir.path()).store;
        record_answered(&mut store, "r1c1", CallState::Connected);
        store
            .record(&view("r1c2", CallState::Ringing), T0)
            .expect("ringing");
        assert_eq!(
            store.heartbeat("2026-12-06T18:00:47Z").expect("heartbeat"),
            2
        );
        // Dropped without ending the calls: the agent was killed.
    }
    let opened = open(dir.path());
    assert_eq!(opened.interrupted, 2);
    let talked = record_of(&opened.store, "r1c1");
    assert_eq!(talked.ended_at.as_deref(), Some("2026-12-06T18:00:47Z"));
    assert_eq!(talked.duration_s, 42);
    assert_eq!(talked.end_reason.expect("a reason").code, INTERRUPTED);
    assert_eq!(talked.log_state, LogState::Pending);
    let rang = record_of(&opened.store, "r1c2");
    assert_eq!(
        (rang.duration_s, rang.end_reason.map(|r| r.code)),
        (0, Some(INTERRUPTED.into()))
    );
    assert_eq!(open(dir.path()).interrupted, 0, "closed once");
}

#[test]
fn runs_are_numbered_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = open(dir.path()).store.run();
    let second = open(dir.path()).store.run();
    assert!(second > first);
}

#[test]
fn history_pages_newest_first() {
    let (_dir, mut store) = fresh();
    for i in 1..=5 {
        store
            .record(&view(&format!("r1c{i}"), CallState::Ringing), T0)
            .expect("recorded");
    }
    let ids = |p: &HistoryPage| p.calls.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let page = store.history(2, None).expect("page 1");
    assert_eq!(ids(&page), ["r1c5", "r1c4"]);
    let page = store
        .history(2, page.next_before.as_deref())
        .expect("page 2");
    assert_eq!(ids(&page), ["r1c3", "r1c2"]);
    let page = store
        .history(2, page.next_before.as_deref())
        .expect("page 3");
    assert_eq!(
        (ids(&page), page.next_before),
        (vec!["r1c1".to_string()], None)
    );
    assert!(matches!(
        store.history(2, Some("nope")),
        Err(StoreError::UnknownCall(_))
    ));
}

#[test]
fn log_states_move_and_a_task_id_is_kept() {
    let (_dir, mut store) = fresh();
    store
        .record(&answered("r1c1", CallState::Ended), T0)
        .expect("recorded");
    store.mark_delivered("r1c1").expect("delivered");
    assert_eq!(
        store.outbox().expect("outbox").len(),
        1,
        "offered again until acknowledged"
    );
    store
        .mark_failed("r1c1", "INSUFFICIENT_ACCESS")
        .expect("failed");
    let e = record_of(&store, "r1c1");
    assert_eq!(
        (e.log_state, e.log_error.as_deref()),
        (LogState::Failed, Some("INSUFFICIENT_ACCESS"))
    );
    store.mark_saved("r1c1", "00T000000000001").expect("saved");
    store.mark_delivered("r1c1").expect("delivered again");
    let e = record_of(&store, "r1c1");
    assert_eq!(
        (e.task_id.as_deref(), e.log_error),
        (Some("00T000000000001"), None)
    );
    assert!(matches!(
        store.mark_saved("nope", "x"),
        Err(StoreError::UnknownCall(_))
    ));
}

#[test]
fn a_damaged_file_is_moved_aside_with_its_log_and_a_fresh_store_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = b"this is not a database, but somebody's data all the same".repeat(100);
    std::fs::write(dir.path().join(FILE_NAME), &garbage).expect("write");
    std::fs::write(dir.path().join("calls.db-wal"), b"stale log").expect("write");
    let opened = open(dir.path());
    let moved = opened.moved_aside.expect("moved aside");
    assert_eq!(
        std::fs::read(&moved.to).expect("kept"),
        garbage,
        "never deleted"
    );
    let mut wal = moved.to.clone().into_os_string();
    wal.push("-wal");
    assert_eq!(
        std::fs::read(wal).expect("log kept beside it"),
        b"stale log"
    );
    let mut store = opened.store;
    // The moved file's runs counted from 1: the fresh store's run numbers (and so its call
    // ids) start where those cannot have reached.
    assert!(store.run() > 1_700_000_000, "run {}", store.run());
    store
        .record(&view("r1c1", CallState::Ringing), T0)
        .expect("the fresh store works");
    let next = open(dir.path());
    assert!(next.moved_aside.is_none());
    assert_eq!(next.store.run(), store.run() + 1, "runs go on counting");
}

#[test]
fn an_unreadable_file_is_moved_aside() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A directory where the file should be: it cannot be opened by anyone, root included.
    std::fs::create_dir(dir.path().join(FILE_NAME)).expect("mkdir");
    let opened = open(dir.path());
    assert!(opened.moved_aside.expect("moved aside").to.is_dir());
}

#[test]
fn a_data_directory_that_cannot_be_made_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").expect("write");
    assert!(matches!(
        Store::open(&file.join("data"), T0),
        Err(StoreError::Dir { .. })
    ));
}

#[test]
fn a_read_only_data_directory_is_an_error_not_a_panic() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    if std::fs::write(data.join("probe"), b"").is_ok() {
        // Root writes anyway: nothing to learn here (the full disk test covers failing writes).
        return;
    }
    assert!(Store::open(&data, T0).is_err());
}

#[test]
fn a_full_disk_fails_writes_with_a_typed_error() {
    let (_dir, mut store) = fresh();
    fill_up(&store);
    let result = (1..=1000)
        .map(|i| {
            store.record(
                &view(&format!("r1c{i}-{}", "x".repeat(500)), CallState::Ringing),
                T0,
            )
        })
        .find(Result::is_err);
    assert!(matches!(result, Some(Err(StoreError::Full))), "{result:?}");
    assert!(store.history(10, None).is_ok(), "reads still work");
}

/// Caps the file at its current size: the next pages allocated find the "disk" full.
fn fill_up(store: &Store) {
    let pages: i64 = store
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("page count");
    store
        .conn
        .pragma_update(None, "max_page_count", pages)
        .expect("cap");
}

#[test]
fn the_recorder_writes_on_its_thread_and_reports_failing_writes() {
    let (_dir, store) = fresh();
    fill_up(&store);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let recorder = Recorder::spawn(store, move |h| sink.lock().expect("not poisoned").push(h))
        .expect("thread");
    let handle = recorder.handle().clone();
    for i in 1..=200 {
        handle.call(
            view(&format!("r1c{i}-{}", "x".repeat(500)), CallState::Ringing),
            T0.into(),
        );
    }
    assert!(handle.history(1, None).is_ok());
    recorder.finish();
    assert!(
        matches!(handle.history(1, None), Err(StoreError::Stopped)),
        "a handle outliving the thread gets an answer, not a hang"
    );
    let heard = heard.lock().expect("not poisoned");
    assert!(
        matches!(heard.as_slice(), [Health::Failing(e)] if e.contains("full")),
        "told once: {heard:?}"
    );
}

#[test]
fn a_store_damaged_inside_is_moved_aside() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut store = open(dir.path()).store;
        for i in 1..=50 {
            store
                .record(
                    &view(&format!("r1c{i}-{}", "x".repeat(200)), CallState::Ringing),
                    T0,
                )
                .expect("recorded");
        }
        // Closing the last connection folds the log into the file.
    }
    let path = dir.path().join(FILE_NAME);
    let mut bytes = std::fs::read(&path).expect("read");
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    // Scribble over the header of every page after the first: the file still looks like a
    // database, but its tables are gone.
    let page = 4096;
    for start in (page..bytes.len()).step_by(page) {
        bytes[start..start + 8].fill(0xff);
    }
    std::fs::write(&path, &bytes).expect("write");
    let opened = open(dir.path());
    let moved = opened.moved_aside.expect("moved aside");
    assert_eq!(std::fs::read(&moved.to).expect("kept"), bytes);
    assert!(opened
        .store
        .history(10, None)
        .expect("fresh")
        .calls
        .is_empty());
}

#[test]
fn a_burst_of_writes_is_committed_together_and_every_one_lands() {
    let (dir, store) = fresh();
    let recorder = Recorder::spawn(store, |_| {}).expect("thread");
    let handle = recorder.handle().clone();
    // Queued faster than the thread syncs: they go to disk in batches.
    for i in 1..=600 {
        handle.call(view(&format!("r1c{i}"), CallState::Ringing), T0.into());
        if i % 3 == 0 {
            handle.call(
                answered(&format!("r1c{}", i - 1), CallState::Connected),
                T0.into(),
            );
        }
    }
    // A read in the middle of the burst sees everything queued before it.
    let page = handle.history(200, None).expect("history");
    assert_eq!(page.calls.len(), 200);
    recorder.finish();
    let store = open(dir.path()).store;
    assert_eq!(store.history(200, None).expect("history").calls.len(), 200);
    let mut all = 0;
    let mut before: Option<String> = None;
    loop {
        let page = store.history(200, before.as_deref()).expect("history");
        all += page.calls.len();
        match page.next_before {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(all, 600, "every call of the burst was written");
    assert!(
        record_of(&store, "r1c599").answered_at.is_some(),
        "the later write of a call wins"
    );
    assert!(record_of(&store, "r1c600").answered_at.is_none());
}

#[test]
fn the_matched_record_and_the_wrap_up_reach_the_record() {
    let (_dir, mut store) = fresh();
    store
        .record(&answered("r1c1", CallState::Connected), T0)
        .expect("recorded");
    let ada = CrmRecord {
        id: "003000000000001AAA".into(),
        name: "Ada Lovelace".into(),
        object_type: "Contact".into(),
    };
    store.set_crm("r1c1", &ada).expect("crm");
    // A wrap-up during the call changes no log: it is not in the outbox yet.
    store
        .set_wrapup("r1c1", Some("Resolved"), None)
        .expect("wrap-up");
    assert!(store.outbox().expect("outbox").is_empty());
    store
        .record(&answered("r1c1", CallState::Ended), T0)
        .expect("ended");
    store.mark_saved("r1c1", "00T1").expect("saved");
    assert!(store.outbox().expect("outbox").is_empty());
    // A wrap-up after the Task was saved sends the call back out, to update that Task.
    store
        .set_wrapup("r1c1", Some("Escalated"), Some("asked for a supervisor"))
        .expect("wrap-up");
    let out = store.outbox().expect("outbox");
    assert_eq!(out.len(), 1);
    let e = &out[0];
    assert_eq!(
        (
            e.crm_record.as_ref(),
            e.disposition.as_deref(),
            e.notes.as_deref(),
            e.task_id.as_deref(),
            e.log_state
        ),
        (
            Some(&ada),
            Some("Escalated"),
            Some("asked for a supervisor"),
            Some("00T1"),
            LogState::Pending
        )
    );
    assert!(matches!(
        store.set_crm("nope", &ada),
        Err(StoreError::UnknownCall(_))
    ));
    assert!(matches!(
        store.set_wrapup("nope", None, None),
        Err(StoreError::UnknownCall(_))
    ));
}

#[test]
fn a_question_to_the_recorder_sees_the_writes_queued_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path()).store;
    let recorder = Recorder::spawn(store, |_| {}).expect("thread");
    let r = recorder.handle().clone();
    r.call(answered("r1c1", CallState::Ended), T0.into());
    let out = r.ask(|s| s.outbox()).expect("outbox");
    assert_eq!(out.len(), 1, "the ended call is offered at once");
    recorder.finish();
    assert!(matches!(r.ask(|s| s.outbox()), Err(StoreError::Stopped)));
}

#[test]
fn a_saved_log_that_went_out_of_date_goes_back_out_with_its_task() {
    let (_dir, mut store) = fresh();
    store
        .record(&answered("r1c1", CallState::Ended), T0)
        .expect("ended");
    store.mark_saved("r1c1", "00T1").expect("saved");
    store.requeue("r1c1").expect("requeued");
    let out = store.outbox().expect("outbox");
    assert_eq!(
        (out.len(), out[0].task_id.as_deref(), out[0].log_state),
        (1, Some("00T1"), LogState::Pending)
    );
    assert!(matches!(
        store.requeue("nope"),
        Err(StoreError::UnknownCall(_))
    ));
}
