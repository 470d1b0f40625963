//! The scheduler on a manual clock: fire times, pause/resume, cancel,
//! missed-run and overlap policies, conditions, adaptive intervals, retry
//! backoff, contexts and shutdown. Tests never sleep: they advance the
//! manual clock and synchronise on channels and `JobHandle::wait_stats_timeout`.

use gosling::context::{CancelReason, Context};
use gosling::retry::{Backoff, RetryPolicy};
use gosling::schedule::{
    Chain, Cron, JobHandle, JobStats, JobStatus, MissedRun, OnError, Overlap, RunOutcome,
    ScheduleError, Scheduler, Step, TimeZone,
};
use gosling::time::ManualClock;
use gosling::{Pool, SubmitErrorKind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WAIT: Duration = Duration::from_secs(10);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// 2024-01-01T00:00:00Z.
const JAN_1_2024: u64 = 1_704_067_200;

fn setup(workers: usize) -> (ManualClock, Pool, Scheduler, Instant) {
    let manual = ManualClock::starting_at(UNIX_EPOCH + secs(JAN_1_2024));
    let pool = Pool::builder()
        .workers(workers)
        .clock(manual.clock())
        .build()
        .unwrap();
    let scheduler = Scheduler::new(&pool);
    let t0 = manual.clock().now();
    (manual, pool, scheduler, t0)
}

/// A body that reports each run on a channel.
fn reporter() -> (
    impl Fn(&Context) -> Result<(), String> + Send + Sync + 'static,
    Receiver<()>,
) {
    let (tx, rx) = mpsc::channel::<()>();
    let tx = Mutex::new(tx);
    (
        move |_: &Context| tx.lock().unwrap().send(()).map_err(|e| e.to_string()),
        rx,
    )
}

fn wait(job: &JobHandle, what: &str, condition: impl FnMut(&JobStats) -> bool) {
    assert!(
        job.wait_stats_timeout(condition, WAIT),
        "timed out waiting for {what}: {:?}",
        job.stats()
    );
}

/// Waits until the run in flight has been counted and nothing is in flight.
fn settled(job: &JobHandle, runs: u64) {
    wait(job, "runs to settle", |s| {
        s.runs == runs && s.in_flight == 0
    });
}

#[test]
fn every_fires_on_its_cadence() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let (body, rx) = reporter();
    let job = scheduler.every(secs(10)).start(body).unwrap();
    assert_eq!(job.next_run(), Some(t0 + secs(10)));
    assert_eq!(job.interval(), Some(secs(10)));
    manual.advance(secs(9));
    assert_eq!(job.run_count(), 0);
    assert!(rx.try_recv().is_err());
    for n in 1..=3u64 {
        manual.advance(if n == 1 { secs(1) } else { secs(10) });
        rx.recv_timeout(WAIT).unwrap();
        settled(&job, n);
        assert_eq!(job.next_run(), Some(t0 + secs(10 * (n + 1))));
    }
    assert_eq!(job.last_outcome(), Some(RunOutcome::Succeeded));
    assert_eq!(job.stats().succeeded, 3);
    assert_eq!(job.status(), JobStatus::Active);
}

#[test]
fn after_and_at_run_once_then_complete() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let (body, rx) = reporter();
    let after = scheduler.after(secs(5)).start(body).unwrap();
    let (body, rx_at) = reporter();
    let at = scheduler.at(t0 + secs(30)).start(body).unwrap();
    assert_eq!(after.next_run(), Some(t0 + secs(5)));
    assert_eq!(at.next_run(), Some(t0 + secs(30)));

    manual.advance(secs(5));
    rx.recv_timeout(WAIT).unwrap();
    settled(&after, 1);
    assert_eq!(after.status(), JobStatus::Completed);
    assert_eq!(after.next_run(), None);
    assert!(rx_at.try_recv().is_err());

    manual.advance(secs(25));
    rx_at.recv_timeout(WAIT).unwrap();
    settled(&at, 1);
    assert_eq!(at.status(), JobStatus::Completed);
    assert!(!at.cancel(), "a completed job cannot be cancelled");

    // An instant already past fires at once.
    let (body, rx_past) = reporter();
    let past = scheduler.at(t0).start(body).unwrap();
    rx_past.recv_timeout(WAIT).unwrap();
    settled(&past, 1);
}

#[test]
fn cron_fires_at_its_wall_clock_times_in_the_zone() {
    let (manual, _pool, scheduler, t0) = setup(1);
    // Every 15 minutes between 09:00 and 09:59 at UTC+01:00, i.e. from
    // 08:00 UTC.
    let cron = Cron::parse("0 */15 9 * * *").unwrap();
    let zone = TimeZone::fixed(3600).unwrap();
    let (body, rx) = reporter();
    let job = scheduler.cron(cron, zone).start(body).unwrap();
    let wall = |s: u64| UNIX_EPOCH + secs(JAN_1_2024 + s);
    assert_eq!(job.next_run_wall(), Some(wall(8 * 3600)));
    assert_eq!(job.next_run(), Some(t0 + secs(8 * 3600)));

    manual.advance(secs(8 * 3600));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);
    assert_eq!(job.next_run_wall(), Some(wall(8 * 3600 + 900)));
    assert_eq!(job.next_run(), Some(t0 + secs(8 * 3600 + 900)));

    for n in 2..=4 {
        manual.advance(secs(900));
        rx.recv_timeout(WAIT).unwrap();
        settled(&job, n);
    }
    // After 09:45 local the next fire is 09:00 the next day.
    assert_eq!(job.next_run_wall(), Some(wall(86_400 + 8 * 3600)));
}

#[test]
fn cron_in_a_named_zone_when_available() {
    let Ok(zone) = TimeZone::named("America/New_York") else {
        eprintln!("no zoneinfo database: skipped");
        return;
    };
    let (_manual, _pool, scheduler, _t0) = setup(1);
    let job = scheduler
        .cron(Cron::parse("0 0 9 * * *").unwrap(), zone)
        .start(|_| Ok::<(), String>(()))
        .unwrap();
    // 09:00 EST is 14:00 UTC.
    assert_eq!(
        job.next_run_wall(),
        Some(UNIX_EPOCH + secs(JAN_1_2024 + 14 * 3600))
    );
}

#[test]
fn pause_and_resume() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let (body, rx) = reporter();
    let job = scheduler
        .every(secs(10))
        .missed(MissedRun::Skip)
        .start(body)
        .unwrap();
    assert!(job.pause());
    assert!(!job.pause());
    assert_eq!(job.status(), JobStatus::Paused);
    assert_eq!(job.next_run(), None);
    manual.advance(secs(15));
    assert!(job.resume());
    assert!(!job.resume());
    // The fire at 10 came while paused: skipped; the next is on the cadence.
    assert_eq!(job.stats().skipped_missed, 1);
    assert_eq!(job.next_run(), Some(t0 + secs(20)));
    manual.advance(secs(5));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);

    // Paused and resumed before the next fire time: nothing missed.
    assert!(job.pause());
    manual.advance(secs(5));
    assert!(job.resume());
    assert_eq!(job.next_run(), Some(t0 + secs(30)));
    assert_eq!(job.stats().skipped_missed, 1);
}

/// A job every 10 s, paused (or stalled) over the fires at 10, 20, 30, then
/// looked at 35 s after the start.
fn missed_after_pause(policy: MissedRun) -> (JobHandle, Receiver<()>, Instant, Pool) {
    let (manual, pool, scheduler, t0) = setup(1);
    let (body, rx) = reporter();
    let job = scheduler
        .every(secs(10))
        .missed(policy)
        .start(body)
        .unwrap();
    job.pause();
    manual.advance(secs(35));
    job.resume();
    (job, rx, t0, pool)
}

#[test]
fn missed_runs_after_a_pause() {
    let (job, _rx, t0, _pool) = missed_after_pause(MissedRun::Skip);
    assert_eq!(job.stats().skipped_missed, 3);
    assert_eq!(job.stats().runs, 0);
    assert_eq!(job.next_run(), Some(t0 + secs(40)));

    let (job, rx, t0, _pool) = missed_after_pause(MissedRun::RunOnce);
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);
    assert_eq!(job.stats().skipped_missed, 2);
    assert_eq!(job.next_run(), Some(t0 + secs(40)));

    let (job, rx, _, _pool) = missed_after_pause(MissedRun::CatchUp);
    for _ in 0..3 {
        rx.recv_timeout(WAIT).unwrap();
    }
    settled(&job, 3);
    assert_eq!(job.stats().skipped_missed, 0);
}

#[test]
fn missed_runs_after_a_stall() {
    // One advance of 35 s: the timer reaches the fire at 10 only at 35, when
    // the fires at 20 and 30 have passed too. The fires at 10 and 20 are
    // missed; the one at 30 is merely late (by less than a period), so it
    // runs whatever the policy.
    for (policy, runs, skipped) in [
        (MissedRun::Skip, 1, 2),
        (MissedRun::RunOnce, 1, 2),
        (MissedRun::CatchUp, 3, 0),
    ] {
        let (manual, _pool, scheduler, t0) = setup(1);
        let (body, rx) = reporter();
        let job = scheduler
            .every(secs(10))
            .missed(policy)
            .start(body)
            .unwrap();
        manual.advance(secs(35));
        wait(&job, "the stalled fire", |s| {
            s.skipped_missed == skipped && s.runs == runs && s.in_flight == 0 && s.waiting == 0
        });
        for _ in 0..runs {
            rx.recv_timeout(WAIT).unwrap();
        }
        assert!(rx.try_recv().is_err(), "{policy:?}");
        assert_eq!(job.next_run(), Some(t0 + secs(40)), "{policy:?}");
    }
}

#[test]
fn catch_up_is_bounded() {
    let (manual, _pool, scheduler, _t0) = setup(1);
    let (body, _rx) = reporter();
    let job = scheduler
        .every(secs(1))
        .missed(MissedRun::CatchUp)
        .catch_up_limit(5)
        .start(body)
        .unwrap();
    manual.advance(secs(100));
    wait(&job, "the catch-up", |s| {
        s.runs == 5 && s.skipped_missed == 95 && s.in_flight == 0
    });
}

/// A body that announces each start and then waits for the gate.
struct Gated {
    started: Receiver<u64>,
    gate: Sender<()>,
}

fn gated() -> (
    impl Fn(&Context) -> Result<(), String> + Send + Sync + 'static,
    Gated,
) {
    let (started_tx, started) = mpsc::channel();
    let (gate, gate_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let gate_rx = Arc::new(Mutex::new(gate_rx));
    let count = AtomicU64::new(0);
    let body = move |_: &Context| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        started_tx.lock().unwrap().send(n).unwrap();
        gate_rx.lock().unwrap().recv().map_err(|e| e.to_string())
    };
    (body, Gated { started, gate })
}

/// A job every 10 s on two workers with the given overlap policy, its first
/// run started and held at the gate.
fn first_run_held(overlap: Overlap) -> (ManualClock, Pool, Scheduler, JobHandle, Gated) {
    let (manual, pool, scheduler, _t0) = setup(2);
    let (body, g) = gated();
    let job = scheduler
        .every(secs(10))
        .overlap(overlap)
        .start(body)
        .unwrap();
    manual.advance(secs(10));
    assert_eq!(g.started.recv_timeout(WAIT).unwrap(), 1);
    (manual, pool, scheduler, job, g)
}

#[test]
fn overlap_skip_drops_fires_while_running() {
    let (manual, _pool, _scheduler, job, g) = first_run_held(Overlap::Skip);
    manual.advance(secs(10));
    wait(&job, "an overlap skip", |s| s.skipped_overlap == 1);
    manual.advance(secs(10));
    wait(&job, "two overlap skips", |s| s.skipped_overlap == 2);
    g.gate.send(()).unwrap();
    settled(&job, 1);
    assert!(g.started.try_recv().is_err());
    // The next fire runs again.
    manual.advance(secs(10));
    assert_eq!(g.started.recv_timeout(WAIT).unwrap(), 2);
    g.gate.send(()).unwrap();
    settled(&job, 2);
}

#[test]
fn overlap_queue_one_keeps_one_waiting() {
    let (manual, _pool, _scheduler, job, g) = first_run_held(Overlap::QueueOne);
    manual.advance(secs(10));
    wait(&job, "one waiting", |s| s.waiting == 1);
    manual.advance(secs(10));
    wait(&job, "a skip", |s| s.skipped_overlap == 1 && s.waiting == 1);
    g.gate.send(()).unwrap();
    // The waiting run starts when the first ends.
    assert_eq!(g.started.recv_timeout(WAIT).unwrap(), 2);
    g.gate.send(()).unwrap();
    settled(&job, 2);
    assert_eq!(job.stats().waiting, 0);
}

#[test]
fn overlap_allow_runs_concurrently() {
    let (manual, _pool, _scheduler, job, g) = first_run_held(Overlap::Allow);
    manual.advance(secs(10));
    // The second starts while the first is still blocked.
    assert_eq!(g.started.recv_timeout(WAIT).unwrap(), 2);
    assert_eq!(job.stats().in_flight, 2);
    g.gate.send(()).unwrap();
    g.gate.send(()).unwrap();
    settled(&job, 2);
    assert_eq!(job.stats().skipped_overlap, 0);
}

#[test]
fn conditional_schedule_counts_skips() {
    let (manual, _pool, scheduler, _t0) = setup(1);
    let open = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&open);
    let (body, rx) = reporter();
    let job = scheduler
        .every(secs(10))
        .when(move |_| flag.load(Ordering::SeqCst))
        .start(body)
        .unwrap();
    manual.advance(secs(10));
    wait(&job, "a condition skip", |s| {
        s.skipped_condition == 1 && s.in_flight == 0
    });
    manual.advance(secs(10));
    wait(&job, "two condition skips", |s| {
        s.skipped_condition == 2 && s.in_flight == 0
    });
    assert!(rx.try_recv().is_err());
    open.store(true, Ordering::SeqCst);
    manual.advance(secs(10));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);
    assert_eq!(job.stats().skipped_condition, 2);
}

#[test]
fn adaptive_interval_stretches_under_load_and_returns() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let load = Arc::new(AtomicU64::new(90));
    let signal = Arc::clone(&load);
    let (body, rx) = reporter();
    let job = scheduler
        .adaptive(secs(10), secs(35), 80.0, move || {
            signal.load(Ordering::SeqCst) as f64
        })
        .start(body)
        .unwrap();
    assert_eq!(job.next_run(), Some(t0 + secs(10)));
    // Busy: 10 -> 20 -> 35 (capped).
    manual.advance(secs(10));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);
    assert_eq!(job.interval(), Some(secs(20)));
    assert_eq!(job.next_run(), Some(t0 + secs(30)));
    manual.advance(secs(20));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 2);
    assert_eq!(job.interval(), Some(secs(35)));
    assert_eq!(job.next_run(), Some(t0 + secs(65)));
    // Load falls: back to the base at once.
    load.store(10, Ordering::SeqCst);
    manual.advance(secs(35));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 3);
    assert_eq!(job.interval(), Some(secs(10)));
    assert_eq!(job.next_run(), Some(t0 + secs(75)));
}

#[test]
fn failing_job_backs_off_then_returns_to_its_cadence() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let failures_left = Arc::new(AtomicU64::new(3));
    let left = Arc::clone(&failures_left);
    let (tx, rx) = mpsc::channel::<bool>();
    let tx = Mutex::new(tx);
    let backoff = Backoff::exponential(secs(1), 2.0).unwrap();
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::new(5).backoff(backoff))
        .start(move |_| {
            let fail = left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            tx.lock().unwrap().send(!fail).unwrap();
            if fail { Err("unavailable") } else { Ok(()) }
        })
        .unwrap();
    manual.advance(secs(60));
    let mut at = 60;
    // Three failures, retried after 1, 2 and 4 seconds.
    for (retry, delay) in [(1, 1), (2, 2), (3, 4)] {
        assert!(!rx.recv_timeout(WAIT).unwrap());
        wait(&job, "a retry armed", |s| {
            s.retries == retry && s.in_flight == 0
        });
        assert_eq!(
            job.last_outcome(),
            Some(RunOutcome::Failed("unavailable".into()))
        );
        at += delay;
        assert_eq!(job.next_run(), Some(t0 + secs(at)));
        manual.advance(secs(delay));
    }
    assert!(rx.recv_timeout(WAIT).unwrap());
    settled(&job, 4);
    // Back on the cadence: the next fire is at 120, not 67 + 60.
    assert_eq!(job.next_run(), Some(t0 + secs(120)));
    assert_eq!(job.last_outcome(), Some(RunOutcome::Succeeded));
    let stats = job.stats();
    assert_eq!((stats.failed, stats.succeeded, stats.retries), (3, 1, 3));
}

#[test]
fn retries_give_up_and_the_cadence_resumes() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(1, secs(5)))
        .start(|_| Err::<(), _>("down"))
        .unwrap();
    manual.advance(secs(60));
    wait(&job, "the retry", |s| s.retries == 1 && s.in_flight == 0);
    assert_eq!(job.next_run(), Some(t0 + secs(65)));
    manual.advance(secs(5));
    wait(&job, "the second failure", |s| {
        s.failed == 2 && s.in_flight == 0
    });
    assert_eq!(job.next_run(), Some(t0 + secs(120)));
}

#[derive(Debug, PartialEq)]
struct Tenant(&'static str);

#[test]
fn context_values_reach_every_run_and_cancel_stops_the_job() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let service = Context::with_clock(manual.clock()).with_value(Tenant("acme"));
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let job = scheduler
        .every(secs(10))
        .context(&service)
        .start(move |ctx| {
            let tenant = ctx.value::<Tenant>().map(|t| t.0);
            tx.lock().unwrap().send(tenant).map_err(|e| e.to_string())
        })
        .unwrap();
    for n in 1..=2 {
        manual.advance(secs(10));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), Some("acme"));
        settled(&job, n);
    }
    service.cancel();
    assert_eq!(job.status(), JobStatus::Cancelled);
    assert_eq!(job.next_run(), None);
    assert_eq!(job.context().reason(), Some(CancelReason::Cancelled));
    manual.advance(secs(100));
    assert_eq!(job.run_count(), 2);
    assert!(!job.resume());
    let _ = t0;

    // A context cancelled before the job starts gives a cancelled job.
    let gone = Context::new();
    gone.cancel();
    let job = scheduler
        .every(secs(1))
        .context(&gone)
        .start(|_| Ok::<(), String>(()))
        .unwrap();
    assert_eq!(job.status(), JobStatus::Cancelled);
}

#[test]
fn cancel_stops_fires_and_cancels_the_running_run() {
    let (manual, _pool, scheduler, _t0) = setup(1);
    let (started_tx, started) = mpsc::channel();
    let started_tx = Mutex::new(started_tx);
    let job = scheduler
        .every(secs(10))
        .start(move |ctx| {
            started_tx.lock().unwrap().send(()).unwrap();
            // Runs until its context is cancelled.
            while !ctx.wait_cancelled_timeout(Duration::from_secs(60)) {}
            ctx.check().map_err(|e| e.to_string())
        })
        .unwrap();
    manual.advance(secs(10));
    started.recv_timeout(WAIT).unwrap();
    assert!(job.cancel());
    assert!(!job.cancel());
    settled(&job, 1);
    assert_eq!(job.last_outcome(), Some(RunOutcome::Cancelled));
    assert_eq!(job.status(), JobStatus::Cancelled);
    manual.advance(secs(30));
    assert!(started.try_recv().is_err());
    assert_eq!(job.run_count(), 1);
}

#[test]
fn invalid_input_is_an_error() {
    let (_manual, pool, scheduler, _t0) = setup(1);
    let ok = |_: &Context| Ok::<(), String>(());
    assert_eq!(
        scheduler.every(Duration::ZERO).start(ok).unwrap_err(),
        ScheduleError::ZeroInterval
    );
    assert_eq!(
        scheduler
            .adaptive(secs(10), secs(5), 1.0, || 0.0)
            .start(ok)
            .unwrap_err(),
        ScheduleError::InvalidAdaptive
    );
    assert_eq!(
        scheduler
            .adaptive(secs(1), secs(5), f64::NAN, || 0.0)
            .start(ok)
            .unwrap_err(),
        ScheduleError::InvalidAdaptive
    );
    // A year-bounded expression whose last year has passed never fires.
    let past = Cron::parse("0 0 0 1 1 * 2020").unwrap();
    assert_eq!(
        scheduler.cron(past, TimeZone::utc()).start(ok).unwrap_err(),
        ScheduleError::NeverFires
    );
    pool.close();
    assert_eq!(
        scheduler.every(secs(1)).start(ok).unwrap_err(),
        ScheduleError::PoolClosed
    );
    drop(pool);
    assert_eq!(
        scheduler.after(secs(1)).start(ok).unwrap_err(),
        ScheduleError::PoolClosed
    );
}

#[test]
fn shutdown_stops_the_jobs() {
    let (manual, pool, scheduler, _t0) = setup(1);
    let (body, rx) = reporter();
    let job = scheduler.every(secs(10)).start(body).unwrap();
    manual.advance(secs(10));
    rx.recv_timeout(WAIT).unwrap();
    settled(&job, 1);
    pool.shutdown(secs(5)).unwrap();
    assert_eq!(job.status(), JobStatus::ShutDown);
    assert_eq!(job.next_run(), None);
    manual.advance(secs(30));
    assert!(rx.try_recv().is_err());
    assert!(!job.resume());

    // A pool closed (not shut down) refuses the next run; the job ends.
    let (manual, pool, scheduler, _t0) = setup(1);
    let job = scheduler
        .every(secs(10))
        .start(|_| Ok::<(), String>(()))
        .unwrap();
    pool.close();
    assert_eq!(job.status(), JobStatus::ShutDown);
    manual.advance(secs(10));
    wait(&job, "the refused run", |s| s.rejected == 1);
    assert_eq!(job.run_count(), 0);
    let _ = SubmitErrorKind::Closed;
}

#[test]
fn a_full_queue_refuses_a_run_without_blocking_the_timer() {
    let manual = ManualClock::new();
    let pool = Pool::builder()
        .workers(1)
        .capacity(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    let scheduler = Scheduler::new(&pool);
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    pool.spawn(move |_| {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    })
    .unwrap();
    started.recv_timeout(WAIT).unwrap();
    pool.spawn(|_| ()).unwrap(); // fills the queue
    let job = scheduler
        .every(secs(10))
        .start(|_| Ok::<(), String>(()))
        .unwrap();
    manual.advance(secs(10));
    wait(&job, "a rejected run", |s| s.rejected == 1);
    assert_eq!(job.status(), JobStatus::Active);
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    manual.advance(secs(10));
    settled(&job, 1);
}

#[test]
fn panicking_runs_are_reported() {
    let (manual, _pool, scheduler, _t0) = setup(1);
    let job = scheduler
        .every(secs(10))
        .start(|_| -> Result<(), String> { panic!("boom") })
        .unwrap();
    manual.advance(secs(10));
    settled(&job, 1);
    assert_eq!(
        job.last_outcome(),
        Some(RunOutcome::Panicked("boom".into()))
    );
    assert_eq!(job.status(), JobStatus::Active);
}

#[test]
fn a_chain_as_a_scheduled_job() {
    let (manual, pool, scheduler, _t0) = setup(1);
    let log = Arc::new(Mutex::new(Vec::new()));
    let verify_ok = Arc::new(AtomicBool::new(false));
    let step = |name: &'static str| {
        let log = Arc::clone(&log);
        let verify_ok = Arc::clone(&verify_ok);
        move |_: &Context| {
            log.lock().unwrap().push(name);
            if name == "verify" && !verify_ok.load(Ordering::SeqCst) {
                Err("unhealthy")
            } else {
                Ok(())
            }
        }
    };
    let chain = Chain::new()
        .step(Step::new("backup", step("backup")))
        .step(Step::new("deploy", step("deploy")))
        .step(
            Step::new("verify", step("verify")).on_error(OnError::Compensate(Box::new(Step::new(
                "rollback",
                step("rollback"),
            )))),
        );
    let job = scheduler.every(secs(60)).start_chain(chain).unwrap();
    manual.advance(secs(60));
    settled(&job, 1);
    assert_eq!(
        job.last_outcome(),
        Some(RunOutcome::Failed(
            "step `verify` failed: unhealthy; compensated".into()
        ))
    );
    assert_eq!(
        *log.lock().unwrap(),
        ["backup", "deploy", "verify", "rollback"]
    );
    verify_ok.store(true, Ordering::SeqCst);
    manual.advance(secs(60));
    settled(&job, 2);
    assert_eq!(job.last_outcome(), Some(RunOutcome::Succeeded));
    assert_eq!(log.lock().unwrap().len(), 7);
    drop(pool);
    let _ = SystemTime::now();
}

/// A one-worker pool whose queue holds one task, on a manual clock.
fn setup_bounded() -> (ManualClock, Pool, Scheduler, Instant) {
    let manual = ManualClock::starting_at(UNIX_EPOCH + secs(JAN_1_2024));
    let pool = Pool::builder()
        .workers(1)
        .capacity(1)
        .clock(manual.clock())
        .build()
        .unwrap();
    let scheduler = Scheduler::new(&pool);
    let t0 = manual.clock().now();
    (manual, pool, scheduler, t0)
}

/// Occupies the only worker of a `setup_bounded` pool and fills its queue;
/// sending on the returned channel frees both.
fn fill(pool: &Pool) -> Sender<()> {
    let (release, gate) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    pool.spawn(move |_| {
        started_tx.send(()).unwrap();
        let _ = gate.recv();
    })
    .unwrap();
    started.recv_timeout(WAIT).unwrap();
    pool.spawn(|_| ()).unwrap();
    release
}

#[test]
fn a_retry_refused_by_a_full_queue_returns_to_the_cadence() {
    let (manual, pool, scheduler, t0) = setup_bounded();
    let (body, rx) = reporter();
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(3, secs(5)))
        .start(move |ctx| body(ctx).and(Err("down".to_string())))
        .unwrap();
    manual.advance(secs(60));
    rx.recv_timeout(WAIT).unwrap();
    wait(&job, "the retry armed", |s| {
        s.retries == 1 && s.in_flight == 0
    });
    assert_eq!(job.next_run(), Some(t0 + secs(65)));

    let release = fill(&pool);
    manual.advance(secs(5));
    wait(&job, "the refused retry", |s| {
        s.rejected == 1 && s.in_flight == 0
    });
    // Not stuck: back on the cadence, the next fire at 120.
    assert_eq!(job.status(), JobStatus::Active);
    assert_eq!(job.next_run(), Some(t0 + secs(120)));
    assert_eq!(job.run_count(), 1);

    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    manual.advance(secs(55));
    rx.recv_timeout(WAIT).unwrap();
    wait(&job, "the next fire's run and retry", |s| {
        s.runs == 2 && s.retries == 2 && s.in_flight == 0
    });
    assert_eq!(job.next_run(), Some(t0 + secs(125)));
}

/// Owed runs (here five caught up while a run was in flight) that a full
/// queue refuses are each counted refused; none is left waiting with
/// nothing in flight to start it.
#[test]
fn owed_runs_refused_by_a_full_queue_are_not_left_waiting() {
    let (manual, pool, scheduler, t0) = setup_bounded();
    let (body, gated) = gated();
    let job = scheduler
        .every(secs(1))
        .missed(MissedRun::CatchUp)
        .catch_up_limit(5)
        .overlap(Overlap::QueueOne)
        .start(body)
        .unwrap();
    manual.advance(secs(1));
    assert_eq!(gated.started.recv_timeout(WAIT), Ok(1));
    // Five fires pass while the run is in flight: five runs owed.
    manual.advance(secs(5));
    wait(&job, "the owed runs", |s| s.waiting == 5);
    // The queue is full when the run ends (the worker is busy with it, and
    // the filler takes the one place).
    pool.spawn(|_| ()).unwrap();
    gated.gate.send(()).unwrap();
    wait(&job, "every owed run tried", |s| {
        s.runs == 1 && s.waiting == 0 && s.in_flight == 0
    });
    let stats = job.stats();
    assert_eq!((stats.rejected, stats.succeeded), (5, 1), "{stats:?}");
    assert_eq!(job.status(), JobStatus::Active);
    assert_eq!(job.next_run(), Some(t0 + secs(7)));
    pool.wait_idle().unwrap();
    drop(gated.gate);
}

#[test]
fn a_one_shot_run_refused_by_a_full_queue_completes_counted_as_rejected() {
    let (manual, pool, scheduler, _t0) = setup_bounded();
    let release = fill(&pool);
    let (body, rx) = reporter();
    let job = scheduler.after(secs(5)).start(body).unwrap();
    manual.advance(secs(5));
    wait(&job, "the refused run", |s| {
        s.rejected == 1 && s.in_flight == 0
    });
    assert_eq!(job.status(), JobStatus::Completed);
    let stats = job.stats();
    assert_eq!((stats.runs, stats.rejected, stats.waiting), (0, 1, 0));
    assert_eq!(job.next_run(), None);
    assert_eq!(job.last_outcome(), None);
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    manual.advance(secs(60));
    pool.wait_idle().unwrap();
    assert!(
        rx.try_recv().is_err(),
        "a refused one-shot is not tried again"
    );
}

#[test]
fn waits_of_duration_max_have_no_deadline() {
    let (manual, _pool, scheduler, _t0) = setup(1);
    let job = Arc::new(
        scheduler
            .every(secs(10))
            .start(|_| Ok::<(), String>(()))
            .unwrap(),
    );
    let (done_tx, done) = mpsc::channel();
    let waiter = Arc::clone(&job);
    std::thread::spawn(move || {
        let _ = done_tx.send(waiter.wait_runs_timeout(1, Duration::MAX));
    });
    manual.advance(secs(10));
    assert!(done.recv_timeout(WAIT).unwrap());
    settled(&job, 1);
    assert!(job.wait_stats_timeout(|s| s.succeeded == 1, Duration::MAX));
}

#[test]
fn cancelling_the_parent_context_drops_the_waiting_run() {
    let (manual, _pool, scheduler, _t0) = setup(2);
    let (body, g) = gated();
    let service = Context::new();
    let job = scheduler
        .every(secs(10))
        .overlap(Overlap::QueueOne)
        .context(&service)
        .start(body)
        .unwrap();
    manual.advance(secs(10));
    assert_eq!(g.started.recv_timeout(WAIT).unwrap(), 1);
    manual.advance(secs(10));
    wait(&job, "one waiting", |s| s.waiting == 1);
    service.cancel();
    assert_eq!(job.status(), JobStatus::Cancelled);
    assert_eq!(job.stats().waiting, 0);
    g.gate.send(()).unwrap();
    settled(&job, 1);
    assert_eq!(job.stats().waiting, 0);
    assert!(
        g.started.try_recv().is_err(),
        "the waiting run never starts"
    );
}

#[test]
fn a_backoff_too_long_for_an_instant_waits_rather_than_retrying_at_once() {
    let (manual, _pool, scheduler, t0) = setup(1);
    let (body, rx) = reporter();
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(1, Duration::MAX))
        .start(move |ctx| body(ctx).and(Err("down".to_string())))
        .unwrap();
    manual.advance(secs(60));
    rx.recv_timeout(WAIT).unwrap();
    wait(&job, "the retry armed", |s| {
        s.retries == 1 && s.in_flight == 0
    });
    let century = secs(99 * 365 * 86_400);
    assert!(
        job.next_run().is_some_and(|at| at > t0 + century),
        "{:?}",
        job.next_run()
    );
    assert_eq!(job.run_count(), 1);
    assert!(rx.try_recv().is_err());
}

/// A chain of one step, `poll`, that reports each attempt and fails with
/// `error`; the step retries once after 5 s.
fn failing_chain(error: &'static str) -> (Chain<String>, Receiver<()>) {
    let (body, rx) = reporter();
    let step = Step::new("poll", move |ctx: &Context| {
        body(ctx).and(Err(error.to_string()))
    })
    .retry(RetryPolicy::fixed(1, secs(5)));
    (Chain::new().step(step), rx)
}

#[test]
fn a_scheduled_chain_refused_by_a_full_queue_is_a_cancelled_run() {
    let (manual, pool, scheduler, t0) = setup_bounded();
    let (chain, rx) = failing_chain("not yet");
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(3, secs(1)))
        .start_chain(chain)
        .unwrap();
    manual.advance(secs(60));
    rx.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap(); // the chain waits out its step's backoff on the timer
    let release = fill(&pool);
    manual.advance(secs(5)); // the step's retry is refused: the chain ends
    wait(&job, "the cancelled run", |s| {
        s.runs == 1 && s.in_flight == 0
    });
    assert_eq!(job.last_outcome(), Some(RunOutcome::Cancelled));
    let stats = job.stats();
    assert_eq!(
        (stats.cancelled, stats.failed, stats.retries),
        (1, 0, 0),
        "{stats:?}"
    );
    assert_eq!(job.next_run(), Some(t0 + secs(120)));
    release.send(()).unwrap();
    pool.wait_idle().unwrap();
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_scheduled_chain_cancelled_during_a_backoff_is_a_cancelled_run() {
    let (manual, pool, scheduler, _t0) = setup(1);
    let service = Context::new();
    let (chain, rx) = failing_chain("not yet");
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(3, secs(1)))
        .context(&service)
        .start_chain(chain)
        .unwrap();
    manual.advance(secs(60));
    rx.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap();
    // The clock stays put: the cancel alone ends the chain's backoff wait.
    service.cancel();
    wait(&job, "the cancelled run", |s| {
        s.runs == 1 && s.in_flight == 0
    });
    assert_eq!(job.status(), JobStatus::Cancelled);
    assert_eq!(job.last_outcome(), Some(RunOutcome::Cancelled));
    let stats = job.stats();
    assert_eq!((stats.cancelled, stats.failed, stats.retries), (1, 0, 0));

    // A shutdown during the backoff: the run ends `ShutDown`.
    let (manual, pool, scheduler, _t0) = setup(1);
    let (chain, rx) = failing_chain("not yet");
    let job = scheduler
        .every(secs(60))
        .retry(RetryPolicy::fixed(3, secs(1)))
        .start_chain(chain)
        .unwrap();
    manual.advance(secs(60));
    rx.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap();
    pool.shutdown(secs(5)).unwrap();
    wait(&job, "the shut-down run", |s| {
        s.runs == 1 && s.in_flight == 0
    });
    assert_eq!(job.status(), JobStatus::ShutDown);
    assert_eq!(job.last_outcome(), Some(RunOutcome::ShutDown));
    let stats = job.stats();
    assert_eq!((stats.cancelled, stats.failed, stats.retries), (1, 0, 0));
}

#[test]
fn a_scheduled_chains_panic_is_retried_only_with_retry_panics() {
    for retry_panics in [true, false] {
        let (manual, _pool, scheduler, t0) = setup(1);
        let panics_left = AtomicU64::new(1);
        let chain = Chain::new().step(Step::new("flaky", move |_: &Context| {
            if panics_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                panic!("flaky");
            }
            Ok::<(), String>(())
        }));
        let job = scheduler
            .every(secs(60))
            .retry(RetryPolicy::fixed(2, secs(5)).retry_panics(retry_panics))
            .start_chain(chain)
            .unwrap();
        manual.advance(secs(60));
        settled(&job, 1);
        assert_eq!(
            job.last_outcome(),
            Some(RunOutcome::Panicked("flaky".into()))
        );
        assert_eq!(job.stats().failed, 1);
        if retry_panics {
            assert_eq!(job.stats().retries, 1);
            assert_eq!(job.next_run(), Some(t0 + secs(65)));
            manual.advance(secs(5));
            settled(&job, 2);
            assert_eq!(job.last_outcome(), Some(RunOutcome::Succeeded));
        } else {
            assert_eq!(job.stats().retries, 0);
        }
        assert_eq!(job.next_run(), Some(t0 + secs(120)));
    }
}

#[test]
fn a_scheduled_chains_error_goes_through_the_classifier() {
    let (manual, pool, scheduler, t0) = setup(1);
    let policy = RetryPolicy::fixed(3, secs(7)).retry_if(|e: &String| e != "fatal");
    let (fatal, rx_fatal) = failing_chain("fatal");
    let (busy, rx_busy) = failing_chain("busy");
    let fatal = scheduler
        .every(secs(60))
        .retry(policy.clone())
        .start_chain(fatal)
        .unwrap();
    let busy = scheduler
        .every(secs(60))
        .retry(policy)
        .start_chain(busy)
        .unwrap();
    // Each chain's step fails, waits 5 s and fails again: the chain aborts.
    manual.advance(secs(60));
    rx_fatal.recv_timeout(WAIT).unwrap();
    rx_busy.recv_timeout(WAIT).unwrap();
    pool.wait_idle().unwrap(); // both chains wait out their step's backoff
    manual.advance(secs(5));
    settled(&fatal, 1);
    settled(&busy, 1);
    assert_eq!(
        fatal.last_outcome(),
        Some(RunOutcome::Failed(
            "step `poll` failed: fatal; chain aborted".into()
        ))
    );
    assert_eq!((fatal.stats().failed, fatal.stats().retries), (1, 0));
    assert_eq!(fatal.next_run(), Some(t0 + secs(120)));
    assert_eq!((busy.stats().failed, busy.stats().retries), (1, 1));
    assert_eq!(busy.next_run(), Some(t0 + secs(72)));
}
