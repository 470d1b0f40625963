//! Zone-aware search: turns the civil-time search of `fields.rs` into
//! instants, walking the zone's constant-offset segments.
//!
//! DST rules (documented on [`Cron`](super::Cron)):
//! - a *wall-time* job (hour field restricted) whose time falls in a gap
//!   fires once, at the transition (right after the gap); in an overlap it
//!   fires only in the first pass (local times already seen under the
//!   previous, larger offset are skipped);
//! - a job whose hour field is `*` follows real elapsed time: skipped local
//!   times do not exist, repeated ones fire again.

use super::fields::Spec;
use crate::schedule::civil::{MAX_UNIX, MIN_UNIX};
use crate::schedule::zone::TimeZone;

/// Bound on segments walked in one search (about two per year for 8000
/// years); past it the search reports `None` rather than loop.
const MAX_SEGMENTS: u32 = 20_000;

/// More than the largest difference between two UTC offsets (±26 h): wall
/// clocks never move back by more across any number of transitions.
const SHIFT: i64 = 3 * 86_400;

/// The first firing instant strictly after Unix second `after`.
#[inline]
pub(crate) fn next_after(spec: &Spec, after: i64, tz: &TimeZone) -> Option<i64> {
    if after >= MAX_UNIX {
        return None;
    }
    let after = after.max(MIN_UNIX - 1);
    if let Some(off) = tz.fixed_offset() {
        let off = i64::from(off);
        return spec.next_local(after + off).map(|l| l - off);
    }
    next_zoned(spec, after, tz)
}

fn next_zoned(spec: &Spec, after: i64, tz: &TimeZone) -> Option<i64> {
    let mut x = after;
    for _ in 0..MAX_SEGMENTS {
        let seg = tz.segment(x + 1);
        let off = i64::from(seg.offset);
        let prev = i64::from(seg.prev_offset);
        if spec.wall_time && seg.start == x + 1 && off > prev {
            // A gap starts exactly at the first candidate instant.
            let t = seg.start;
            if spec.next_local(t + prev - 1).is_some_and(|c| c < t + off) {
                return Some(t);
            }
        }
        let mut lower = x + off;
        if spec.wall_time && prev > off && seg.start != i64::MIN {
            // Overlap: wall times before `start + prev` were already shown
            // under the previous offset.
            lower = lower.max(seg.start + prev - 1);
        }
        match spec.next_local(lower) {
            Some(c) if seg.end == i64::MAX || c < seg.end + off => return Some(c - off),
            Some(_) => {}
            // Later wall clocks never read more than SHIFT before `lower`.
            None if seg.end == i64::MAX || spec.next_local(lower - SHIFT).is_none() => return None,
            None => {}
        }
        if seg.end >= MAX_UNIX {
            return None;
        }
        // Next segment; a gap at its start is checked there.
        x = seg.end - 1;
    }
    None
}

/// The last firing instant strictly before Unix second `before`.
#[inline]
pub(crate) fn prev_before(spec: &Spec, before: i64, tz: &TimeZone) -> Option<i64> {
    if before <= MIN_UNIX {
        return None;
    }
    let before = before.min(MAX_UNIX + 1);
    if let Some(off) = tz.fixed_offset() {
        let off = i64::from(off);
        return spec.prev_local(before + off).map(|l| l - off);
    }
    let mut x = before;
    for _ in 0..MAX_SEGMENTS {
        let seg = tz.segment(x - 1);
        let off = i64::from(seg.offset);
        let prev = i64::from(seg.prev_offset);
        let floor = if seg.start == i64::MIN {
            i64::MIN
        } else if spec.wall_time && prev > off {
            seg.start + prev
        } else {
            seg.start + off
        };
        match spec.prev_local(x + off) {
            Some(c) if c >= floor => return Some(c - off),
            Some(_) => {}
            None if seg.start == i64::MIN || spec.prev_local(x + off + SHIFT).is_none() => {
                return None;
            }
            None => {}
        }
        if seg.start == i64::MIN || seg.start <= MIN_UNIX {
            return None;
        }
        let t = seg.start;
        if spec.wall_time && off > prev && spec.prev_local(t + off).is_some_and(|c| c >= t + prev) {
            return Some(t);
        }
        x = t;
    }
    None
}
