//! What a fire does: which fire times have come ([`Due`]), the missed-run
//! and overlap policies, and arming the next fire.

use super::core::{Cadence, JobCore, JobState, Mode};
use super::policy::{MissedRun, Overlap};
use super::status::JobStatus;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How many cron fire times one fire scans when counting missed ones.
const CRON_SCAN_LIMIT: u64 = 10_000;

/// A wall-clock time as nanoseconds since the Unix epoch (negative before).
fn wall_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// The instant on the clock that is `unix` seconds on the wall, seen from
/// (`now`, `wall_ns`); never before `now`.
fn instant_of(now: Instant, wall_ns: i128, unix: i64) -> Instant {
    let ahead = i128::from(unix) * 1_000_000_000 - wall_ns;
    if ahead <= 0 {
        return now;
    }
    let ahead = u64::try_from(ahead).unwrap_or(u64::MAX);
    now.checked_add(Duration::from_nanos(ahead))
        .unwrap_or(now + Duration::from_secs(86_400 * 365 * 100))
}

/// The fire times that have come, seen at one moment.
pub(super) struct Due {
    /// How many (0: a cron time not yet reached on the wall clock).
    pub(super) count: u64,
    /// The latest of them.
    pub(super) last: Instant,
    /// The next one still to come, with its Unix second (cron).
    pub(super) next: Option<(Instant, i64)>,
}

impl JobCore {
    /// The timer thread reached entry `generation`.
    pub(super) fn on_timer(self: &Arc<Self>, generation: u64) {
        // Read the context outside our lock (see the module notes).
        let cancelled = self.ctx.is_cancelled();
        let launches = {
            let mut st = self.state.lock();
            if st.generation != generation || st.status != JobStatus::Active {
                return;
            }
            st.armed = None;
            self.armed_gen.store(0, Ordering::Release);
            if cancelled {
                st.status = JobStatus::Cancelled;
                self.cv.notify_all();
                return;
            }
            let now = self.clock.now();
            let launches = match st.mode {
                Mode::Retry => {
                    st.stats.in_flight += 1;
                    1
                }
                Mode::Cadence => self.on_due(&mut st, now, false),
            };
            self.settle(&mut st);
            self.cv.notify_all();
            launches
        };
        for _ in 0..launches {
            self.launch();
        }
    }

    /// The fire times that have come by `now`, from `due` on.
    pub(super) fn due_points(&self, st: &JobState, due: Instant, now: Instant) -> Due {
        match &self.cadence {
            Cadence::Once => Due {
                count: u64::from(due <= now),
                last: due,
                next: None,
            },
            Cadence::Every | Cadence::Adaptive { .. } => {
                if due > now {
                    return Due {
                        count: 0,
                        last: due,
                        next: Some((due, 0)),
                    };
                }
                let step = st.interval.as_nanos().max(1);
                let behind = (now - due).as_nanos();
                let extra = behind / step;
                let count = u64::try_from(extra).unwrap_or(u64::MAX - 1) + 1;
                let last = due + Duration::from_nanos(u64::try_from(extra * step).unwrap_or(0));
                Due {
                    count,
                    last,
                    next: last.checked_add(st.interval).map(|at| (at, 0)),
                }
            }
            Cadence::Cron { cron, zone } => {
                let wall_ns = wall_nanos(self.clock.wall());
                let reached = |unix: i64| i128::from(unix) * 1_000_000_000 <= wall_ns;
                let mut p = st.due_unix;
                if !reached(p) {
                    // The monotonic clock got there before the wall clock.
                    let at = instant_of(now, wall_ns, p);
                    return Due {
                        count: 0,
                        last: at,
                        next: Some((at, p)),
                    };
                }
                let mut count = 1;
                let next = loop {
                    match cron.next_after_unix(p, zone) {
                        Some(q) if reached(q) => {
                            count += 1;
                            p = q;
                            if count >= CRON_SCAN_LIMIT {
                                let floor = i64::try_from(wall_ns.div_euclid(1_000_000_000))
                                    .unwrap_or(i64::MAX);
                                break cron.next_after_unix(floor.max(p), zone);
                            }
                        }
                        other => break other,
                    }
                };
                let behind = wall_ns - i128::from(p) * 1_000_000_000;
                let behind = Duration::from_nanos(u64::try_from(behind).unwrap_or(u64::MAX));
                Due {
                    count,
                    last: now.checked_sub(behind).unwrap_or(now),
                    next: next.map(|q| (instant_of(now, wall_ns, q), q)),
                }
            }
        }
    }

    /// Handles the cadence's fire times that have come by `now`: applies the
    /// missed-run and overlap policies, arms the next fire, and returns how
    /// many runs to launch (already counted in flight). `resumed`: every
    /// fire time before `now` fell in a paused period, so all are missed.
    pub(super) fn on_due(self: &Arc<Self>, st: &mut JobState, now: Instant, resumed: bool) -> u64 {
        let Some(due) = st.due else {
            return 0;
        };
        let points = self.due_points(st, due, now);
        if points.count == 0 {
            if let Some((at, unix)) = points.next {
                st.due = Some(at);
                st.due_unix = unix;
                self.arm(st, at);
            }
            return 0;
        }
        let count = points.count;
        st.last_due = Some(points.last);
        match points.next {
            Some((at, unix)) => {
                st.due = Some(at);
                st.due_unix = unix;
                self.arm(st, at);
            }
            None => st.due = None,
        }
        // The latest fire time that has come is within one period of now
        // (`due_points` stops before the first one still to come): merely
        // late, it runs, unless it fell in a paused period.
        let on_time = if resumed {
            u64::from(points.last == now)
        } else {
            1
        };
        let missed = count - on_time;
        let runs = if missed == 0 {
            count
        } else {
            match self.config.missed {
                MissedRun::Skip => on_time,
                MissedRun::RunOnce => 1,
                MissedRun::CatchUp => count.min(self.config.catch_up_limit.max(1)),
            }
        };
        st.stats.skipped_missed += count - runs;
        if runs == 0 {
            return 0;
        }
        if st.stats.in_flight == 0 {
            st.stats.in_flight += 1;
            st.stats.waiting += runs - 1;
            return 1;
        }
        match self.config.overlap {
            Overlap::Allow => {
                st.stats.in_flight += 1;
                st.stats.waiting += runs - 1;
                1
            }
            Overlap::QueueOne if st.stats.waiting == 0 => {
                st.stats.waiting += runs;
                0
            }
            Overlap::QueueOne | Overlap::Skip => {
                st.stats.skipped_overlap += 1;
                st.stats.waiting += runs - 1;
                0
            }
        }
    }
}
