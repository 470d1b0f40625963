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
//!
//! Whether an instant fires depends only on the instant and its segment,
//! so a search may skip instants known not to fire. The walk uses that to
//! cross long stretches without visiting their segments: when the first
//! matching local time `c` after a segment's lower bound lies beyond the
//! segment, no instant between `x + SHIFT` and `c - SHIFT` can fire (its
//! wall clock reads after the bound and before `c`, and so does every wall
//! time a gap there skips), and once the walk has passed `x + SHIFT` it
//! jumps to `c - SHIFT` (the backward search mirrors this). The bounds
//! hold because no offset is more than SHIFT/2 from UTC, so an instant
//! and its wall clock are never SHIFT/2 apart. A search across thousands of years of DST (a year
//! field far away, `0 0 29 2 MON` with both day fields required) then looks
//! at a few segments instead of two per year.

use super::fields::Spec;
use crate::schedule::calendar::civil::{MAX_UNIX, MIN_UNIX};
use crate::schedule::calendar::zone::TimeZone;

/// Bound on segments walked in one search (about two per year for 8000
/// years, what a walk without jumps could need); past it the search
/// reports `None` rather than loop.
const MAX_SEGMENTS: u32 = 20_000;

/// More than the largest difference between two UTC offsets (±26 h): wall
/// clocks never move back by more across any number of transitions.
const SHIFT: i64 = 3 * 86_400;

/// Whether the walk may jump ahead in `tz`: the jump's margin of `SHIFT`
/// on either side needs every offset within ±SHIFT/2, which every real
/// zone is (a damaged TZif file could claim more; it gets the plain walk).
#[inline]
fn can_jump(tz: &TimeZone) -> bool {
    2 * i64::from(tz.max_abs_offset()) < SHIFT
}

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
    let jumps = can_jump(tz);
    let mut x = after;
    // (x, c) of the first segment since the last jump whose first local
    // match `c` lay beyond it: no instant in [x + SHIFT, c - SHIFT] fires.
    let mut skip: Option<(i64, i64)> = None;
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
            Some(c) => {
                skip.get_or_insert((x, c));
            }
            // Later wall clocks never read more than SHIFT before `lower`.
            None if seg.end == i64::MAX || spec.next_local(lower - SHIFT).is_none() => return None,
            None => {}
        }
        if seg.end >= MAX_UNIX {
            return None;
        }
        // Next segment; a gap at its start is checked there.
        x = seg.end - 1;
        if let Some((from, c)) = skip {
            if jumps && x >= from + SHIFT {
                // Every instant up to x is checked and none in
                // [from + SHIFT, c - SHIFT] fires.
                x = x.max(c - SHIFT - 1);
                skip = None;
            }
        }
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
    prev_zoned(spec, before, tz)
}

fn prev_zoned(spec: &Spec, before: i64, tz: &TimeZone) -> Option<i64> {
    let jumps = can_jump(tz);
    let mut x = before;
    // (x, c) of the first segment since the last jump whose last local
    // match `c` lay before it: no instant in [c + SHIFT, x - SHIFT] fires.
    let mut skip: Option<(i64, i64)> = None;
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
            Some(c) => {
                skip.get_or_insert((x, c));
            }
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
        if let Some((from, c)) = skip {
            if jumps && x <= from - SHIFT {
                // Every instant from x on is checked and none in
                // [c + SHIFT, from - SHIFT] fires.
                x = x.min(c + SHIFT + 1);
                skip = None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;
    use crate::rng::Rng;

    /// The segment-by-segment walk `next_zoned` replaced, kept verbatim
    /// as the reference its results must equal.
    fn next_reference(spec: &Spec, after: i64, tz: &TimeZone) -> Option<i64> {
        if after >= MAX_UNIX {
            return None;
        }
        let after = after.max(MIN_UNIX - 1);
        if let Some(off) = tz.fixed_offset() {
            let off = i64::from(off);
            return spec.next_local(after + off).map(|l| l - off);
        }
        let mut x = after;
        for _ in 0..MAX_SEGMENTS {
            let seg = tz.segment(x + 1);
            let off = i64::from(seg.offset);
            let prev = i64::from(seg.prev_offset);
            if spec.wall_time && seg.start == x + 1 && off > prev {
                let t = seg.start;
                if spec.next_local(t + prev - 1).is_some_and(|c| c < t + off) {
                    return Some(t);
                }
            }
            let mut lower = x + off;
            if spec.wall_time && prev > off && seg.start != i64::MIN {
                lower = lower.max(seg.start + prev - 1);
            }
            match spec.next_local(lower) {
                Some(c) if seg.end == i64::MAX || c < seg.end + off => return Some(c - off),
                Some(_) => {}
                None if seg.end == i64::MAX || spec.next_local(lower - SHIFT).is_none() => {
                    return None;
                }
                None => {}
            }
            if seg.end >= MAX_UNIX {
                return None;
            }
            x = seg.end - 1;
        }
        None
    }

    /// The segment-by-segment walk `prev_zoned` replaced, verbatim.
    fn prev_reference(spec: &Spec, before: i64, tz: &TimeZone) -> Option<i64> {
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
            if spec.wall_time
                && off > prev
                && spec.prev_local(t + off).is_some_and(|c| c >= t + prev)
            {
                return Some(t);
            }
            x = t;
        }
        None
    }

    fn pick<'a>(rng: &mut Rng, options: &[&'a str]) -> &'a str {
        options[rng.between(0, options.len() as u64 - 1) as usize]
    }

    /// A random expression, weighted towards sparse ones (year fields,
    /// leap days, both day fields required) whose searches cross many
    /// years of transitions, and towards hours near the usual switches.
    fn random_expression(rng: &mut Rng) -> String {
        let second = pick(rng, &["0", "0", "30", "*/20"]);
        let minute = pick(rng, &["0", "30", "*/15", "*", "0-10/5", "45"]);
        let hour = pick(rng, &["*", "2", "1-3", "0", "*/2", "23", "1,2", "3"]);
        let dom = pick(
            rng,
            &["*", "?", "1", "29", "L", "15W", "LW", "31", "1-7", "13"],
        );
        let month = pick(rng, &["*", "2", "3", "10-11", "JAN", "*/5", "NOV", "4"]);
        let dow = pick(
            rng,
            &["*", "?", "SUN", "MON#5", "5L", "1-5", "FRI", "SUN#2"],
        );
        let year = pick(
            rng,
            &[
                "*",
                "9999",
                "1970",
                "2100-2105",
                "1-9999/997",
                "5000",
                "1",
                "3000,7000",
                "*/400",
                "2024-2030",
            ],
        );
        format!("{second} {minute} {hour} {dom} {month} {dow} {year}")
    }

    fn zones() -> Vec<TimeZone> {
        let named = [
            "America/New_York",
            "Europe/Paris",
            "Europe/Dublin",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "Pacific/Apia",
            "America/Sao_Paulo",
            "Antarctica/Troll",
            "Africa/Casablanca",
            "America/Santiago",
            "Asia/Beirut",
        ];
        let rules = [
            "EST5EDT,M3.2.0,M11.1.0",
            "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
            "<+13>-13<+14>,M9.5.0/3,M4.1.0/4",
            "EST5EDT4,0/0,J365/25",
            "<-04>4<-03>,M9.1.6/24,M4.1.6/24",
        ];
        let mut out: Vec<TimeZone> = named
            .iter()
            .filter_map(|n| match TimeZone::named(n) {
                Ok(tz) => Some(tz),
                Err(e) => {
                    println!("skipped {n}: {e}");
                    None
                }
            })
            .collect();
        out.extend(rules.iter().map(|r| TimeZone::from_posix_rule(r).unwrap()));
        out
    }

    /// An expression aimed at one transition of `tz` and a start within two
    /// hours of it: it fires on the local date before the switch, after it
    /// or both (in that year and one more, so that the next match after
    /// those days is far), at an hour near the switch or every hour.
    fn near_transition(rng: &mut Rng, tz: &TimeZone) -> Option<(String, i64)> {
        let t = -2_208_988_800 + rng.between(0, 9_467_107_200) as i64;
        let seg = tz.segment(t);
        if seg.end == i64::MAX {
            return None;
        }
        let at = seg.end;
        let wall = |t: i64| at_local(t + i64::from(tz.segment(t).offset));
        let (y, mo, d, h) = wall(at - 1 - rng.between(0, 1) as i64 * 3600);
        let minute = pick(rng, &["0", "30", "*/15", "59", "*"]);
        let hour = match rng.between(0, 2) {
            0 => "*".to_string(),
            1 => h.to_string(),
            _ => format!("{}-23", h.saturating_sub(1)),
        };
        let (before, after) = (
            y - 1 - rng.between(0, 20) as i64,
            y + 1 + rng.between(0, 20) as i64,
        );
        let year = match rng.between(0, 2) {
            0 => format!("{before},{y}"),
            1 => format!("{y},{after}"),
            _ => format!("{before},{y},{after}"),
        };
        let (_, mo2, d2, _) = wall(at + 3600);
        let days = match rng.between(0, 2) {
            0 => format!("{d} {mo}"),
            1 => format!("{d2} {mo2}"),
            _ => format!("{d},{d2} {mo},{mo2}"),
        };
        let expr = format!("0 {minute} {hour} {days} * {year}");
        let start = at - 7200 + rng.between(0, 4 * 3600) as i64;
        Some((expr, start))
    }

    /// Civil (year, month, day, hour) of local seconds.
    fn at_local(l: i64) -> (i64, u32, u32, i64) {
        use crate::schedule::calendar::civil::{DAY, civil_from_days};
        let (y, m, d) = civil_from_days(l.div_euclid(DAY));
        (y, m, d, l.rem_euclid(DAY) / 3600)
    }

    /// A random instant: anywhere in years 1-9999, in 1900-2100, or a few
    /// seconds either side of one of the zone's transitions.
    fn random_instant(rng: &mut Rng, tz: &TimeZone) -> i64 {
        let span = |rng: &mut Rng, lo: i64, hi: i64| lo + rng.between(0, (hi - lo) as u64) as i64;
        match rng.between(0, 2) {
            0 => span(rng, MIN_UNIX - 86_400, MAX_UNIX + 86_400),
            1 => span(rng, -2_208_988_800, 4_102_444_800),
            _ => {
                let t = span(rng, -2_208_988_800, 7_258_118_400);
                let seg = tz.segment(t);
                let edge = if seg.end != i64::MAX {
                    seg.end
                } else if seg.start != i64::MIN {
                    seg.start
                } else {
                    t
                };
                edge + span(rng, -2, 2) + 3600 * span(rng, -1, 1)
            }
        }
    }

    /// The jumping search returns exactly what the segment-by-segment walk
    /// did, for random expressions and instants in zones with DST
    /// (half-hour, negative, two-hour and year-round rules, a skipped day,
    /// a long transition table), following each result with the next.
    #[test]
    // Long differential runs of safe code: too slow under Miri.
    #[cfg_attr(miri, ignore)]
    fn jumping_search_agrees_with_segment_walk() {
        let seed = match std::env::var("GOSLING_CRON_SEED") {
            Ok(v) => v.parse().expect("GOSLING_CRON_SEED must be a u64"),
            Err(_) => Rng::from_entropy().next_u64(),
        };
        println!("seed {seed} (replay with GOSLING_CRON_SEED={seed})");
        let mut rng = Rng::seeded(seed);
        let zones = zones();
        let mut compared = 0;
        for case in 0..600 {
            let tz = &zones[case % zones.len()];
            let (expr, start) = match near_transition(&mut rng, tz) {
                Some(aimed) if case % 2 == 0 => aimed,
                _ => (random_expression(&mut rng), random_instant(&mut rng, tz)),
            };
            let days_and = rng.between(0, 3) == 0;
            let Ok(spec) = parse(&expr, days_and) else {
                continue;
            };
            let ctx = |t: i64| {
                format!(
                    "{expr:?} (both days: {days_and}) in {} from {t}, seed {seed}",
                    tz.name()
                )
            };
            let mut t = start;
            for _ in 0..3 {
                let want = next_reference(&spec, t, tz);
                assert_eq!(next_after(&spec, t, tz), want, "next: {}", ctx(t));
                compared += 1;
                match want {
                    Some(n) => t = n,
                    None => break,
                }
            }
            let mut t = start;
            for _ in 0..3 {
                let want = prev_reference(&spec, t, tz);
                assert_eq!(prev_before(&spec, t, tz), want, "prev: {}", ctx(t));
                compared += 1;
                match want {
                    Some(p) => t = p,
                    None => break,
                }
            }
        }
        println!("{compared} searches compared");
    }

    /// Around transitions, where a jump would go wrong first: expressions
    /// that fire on the local date just before or just after a switch (at
    /// its hour or every hour) and again ten years away, searched both
    /// ways from instants within 90 minutes of the switch. The wall clock
    /// repeats or skips times there, so a jump taken too early (before the
    /// walk has passed a repeated hour) or landing too late would miss a
    /// firing the walk finds.
    #[test]
    // Long differential runs of safe code: too slow under Miri.
    #[cfg_attr(miri, ignore)]
    fn jumping_search_agrees_around_transitions() {
        let mut compared = 0;
        for tz in zones() {
            // Twenty transitions from 1995 on, then a few far in the future.
            let mut ats = Vec::new();
            let mut x = 788_918_400; // 1995-01-01T00:00:00Z
            while ats.len() < 20 {
                let seg = tz.segment(x);
                if seg.end == i64::MAX {
                    break;
                }
                ats.push(seg.end);
                x = seg.end;
            }
            for far in [16_725_225_600, 221_845_392_000] {
                let seg = tz.segment(far);
                if seg.end != i64::MAX {
                    ats.push(seg.end);
                }
            }
            for at in ats {
                let wall = |t: i64| at_local(t + i64::from(tz.segment(t).offset));
                let (y, mo1, d1, h1) = wall(at - 1);
                let (_, mo2, d2, h2) = wall(at);
                for (d, mo) in [(d1, mo1), (d2, mo2)] {
                    for hour in ["*".to_string(), h1.to_string(), h2.to_string()] {
                        for minute in ["0", "30"] {
                            let expr =
                                format!("0 {minute} {hour} {d} {mo} * {},{y},{}", y - 10, y + 10);
                            let spec = parse(&expr, false).unwrap();
                            for delta in [-5400, -1800, -1, 0, 1, 1800, 3600, 5400] {
                                let t = at + delta;
                                let ctx = format!("{expr:?} in {} from {t}", tz.name());
                                let want = next_reference(&spec, t, &tz);
                                assert_eq!(next_after(&spec, t, &tz), want, "next: {ctx}");
                                let want = prev_reference(&spec, t, &tz);
                                assert_eq!(prev_before(&spec, t, &tz), want, "prev: {ctx}");
                                compared += 2;
                            }
                        }
                    }
                }
            }
        }
        println!("{compared} searches compared");
    }
}
