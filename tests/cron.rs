//! Cron expressions: vectors for every specifier, DST behaviour in five
//! zones, malformed expressions with their error positions, randomised
//! consistency checks and a never-panics fuzz run.

mod common;

use common::Rng;
use gosling::schedule::{Cron, CronErrorKind, CronField, CronParser, DateTime, DayMatch, TimeZone};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix seconds of a UTC date-time written `YYYY-MM-DDTHH:MM:SS`.
fn utc(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i32>().unwrap();
    DateTime::new(
        n(0..4),
        n(5..7) as u8,
        n(8..10) as u8,
        n(11..13) as u8,
        n(14..16) as u8,
        n(17..19) as u8,
    )
    .unwrap()
    .to_unix()
}

/// `t` as wall time in `tz` with its offset: `2024-03-10T03:00:00-04:00`.
fn local(tz: &TimeZone, t: i64) -> String {
    let off = tz.offset_at_unix(t);
    let wall = DateTime::from_unix(t + i64::from(off)).unwrap();
    let a = off.unsigned_abs();
    let sign = if off < 0 { '-' } else { '+' };
    format!("{wall}{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
}

/// The first `n` firing times after `start` (UTC string), as wall times.
fn next_n(expr: &str, tz: &TimeZone, start: &str, n: usize) -> Vec<String> {
    next_n_with(&Cron::parse(expr).unwrap(), tz, start, n)
}

fn next_n_with(cron: &Cron, tz: &TimeZone, start: &str, n: usize) -> Vec<String> {
    let mut t = utc(start);
    let mut out = Vec::new();
    for _ in 0..n {
        match cron.next_after_unix(t, tz) {
            Some(next) => {
                assert!(next > t, "{cron}: {next} not after {t}");
                // prev_before undoes next_after.
                assert!(
                    cron.prev_before_unix(next, tz).is_none_or(|p| p <= t),
                    "{cron} prev of {next}"
                );
                out.push(local(tz, next));
                t = next;
            }
            None => {
                out.push("none".to_string());
                break;
            }
        }
    }
    out
}

fn prev_n(expr: &str, tz: &TimeZone, start: &str, n: usize) -> Vec<String> {
    let cron = Cron::parse(expr).unwrap();
    let mut t = utc(start);
    let mut out = Vec::new();
    for _ in 0..n {
        match cron.prev_before_unix(t, tz) {
            Some(p) => {
                assert!(p < t);
                out.push(local(tz, p));
                t = p;
            }
            None => {
                out.push("none".to_string());
                break;
            }
        }
    }
    out
}

fn zone(name: &str) -> Option<TimeZone> {
    match TimeZone::named(name) {
        Ok(tz) => Some(tz),
        Err(e) => {
            println!("skipped: {e} (install tzdata)");
            None
        }
    }
}

// ---------------------------------------------------------------- specifiers

#[test]
fn smoke() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("*/5 * * * *", &u, "2024-01-01T00:00:00", 3),
        [
            "2024-01-01T00:05:00+00:00",
            "2024-01-01T00:10:00+00:00",
            "2024-01-01T00:15:00+00:00"
        ]
    );
}

#[test]
fn seconds_field_and_steps() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("*/20 * * * * *", &u, "2024-01-01T00:00:50", 3),
        [
            "2024-01-01T00:01:00+00:00",
            "2024-01-01T00:01:20+00:00",
            "2024-01-01T00:01:40+00:00"
        ]
    );
    assert_eq!(
        next_n("0 10-40/7 * * * *", &u, "2024-01-01T00:00:00", 6),
        [
            "2024-01-01T00:10:00+00:00",
            "2024-01-01T00:17:00+00:00",
            "2024-01-01T00:24:00+00:00",
            "2024-01-01T00:31:00+00:00",
            "2024-01-01T00:38:00+00:00",
            "2024-01-01T01:10:00+00:00"
        ]
    );
    // `a/n` runs from a to the end of the range.
    assert_eq!(
        next_n("50/5 * * * *", &u, "2024-01-01T00:00:00", 3),
        [
            "2024-01-01T00:50:00+00:00",
            "2024-01-01T00:55:00+00:00",
            "2024-01-01T01:50:00+00:00"
        ]
    );
}

#[test]
fn lists_ranges_and_names() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 9 1,15 jan,JUL *", &u, "2024-01-10T00:00:00", 3),
        [
            "2024-01-15T09:00:00+00:00",
            "2024-07-01T09:00:00+00:00",
            "2024-07-15T09:00:00+00:00"
        ]
    );
    // 2024-01-05 is a Friday.
    assert_eq!(
        next_n("30 8 * * Mon-fri", &u, "2024-01-05T09:00:00", 2),
        ["2024-01-08T08:30:00+00:00", "2024-01-09T08:30:00+00:00"]
    );
    assert_eq!(
        next_n("0 0 * JUN-AUG SAT,sun", &u, "2024-06-01T00:00:00", 2),
        ["2024-06-02T00:00:00+00:00", "2024-06-08T00:00:00+00:00"]
    );
}

#[test]
fn sunday_is_0_or_7() {
    let u = TimeZone::utc();
    let want = next_n("0 0 * * SUN", &u, "2024-01-01T00:00:00", 3);
    assert_eq!(want[0], "2024-01-07T00:00:00+00:00");
    assert_eq!(next_n("0 0 * * 0", &u, "2024-01-01T00:00:00", 3), want);
    assert_eq!(next_n("0 0 * * 7", &u, "2024-01-01T00:00:00", 3), want);
    assert_eq!(
        next_n("0 0 * * 5-7", &u, "2024-01-01T00:00:00", 3),
        [
            "2024-01-05T00:00:00+00:00",
            "2024-01-06T00:00:00+00:00",
            "2024-01-07T00:00:00+00:00"
        ]
    );
}

/// A day-of-week range ending in `SUN` ends at 7; one starting there
/// stays on Sunday; ranges never wrap.
#[test]
fn day_of_week_ranges_ending_in_sunday() {
    let same = |a: &str, b: &str| {
        let (x, y) = (Cron::parse(a).unwrap(), Cron::parse(b).unwrap());
        assert_eq!(x, y, "{a} and {b}");
    };
    same("0 0 * * SAT-SUN", "0 0 * * 6,0");
    same("0 0 * * SAT-SUN", "0 0 * * 6-7");
    same("0 0 * * sat-sun", "0 0 * * 6-7");
    same("0 0 * * 6-SUN", "0 0 * * 6-7");
    same("0 0 * * MON-SUN", "0 0 * * 0-6");
    same("0 0 * * SUN-SUN", "0 0 * * 0");
    same("0 0 * * 0-SUN", "0 0 * * 0");
    same("0 0 * * 7-SUN", "0 0 * * 0");
    same("0 0 * * SUN-SAT", "0 0 * * 0-6");
    same("0 0 * * FRI-SUN/2", "0 0 * * 5,0");
    same("0 0 * * MON-SUN/3", "0 0 * * 1,4,0");
    same("0 0 * * MON-WED,SAT-SUN", "0 0 * * 0-3,6");
    same("0 0 0 * * SAT-SUN *", "0 0 0 * * 6,0 *");
    assert_ne!(
        Cron::parse("0 0 * * SUN-SUN").unwrap(),
        Cron::parse("0 0 * * *").unwrap()
    );
    // 2024-01-05 is a Friday.
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 9 * * SAT-SUN", &u, "2024-01-05T12:00:00", 3),
        [
            "2024-01-06T09:00:00+00:00",
            "2024-01-07T09:00:00+00:00",
            "2024-01-13T09:00:00+00:00"
        ]
    );
    assert_eq!(
        next_n("0 9 * * MON-WED,SAT-SUN", &u, "2024-01-05T12:00:00", 6),
        [
            "2024-01-06T09:00:00+00:00",
            "2024-01-07T09:00:00+00:00",
            "2024-01-08T09:00:00+00:00",
            "2024-01-09T09:00:00+00:00",
            "2024-01-10T09:00:00+00:00",
            "2024-01-13T09:00:00+00:00"
        ]
    );
    // With both day fields required: the 13th when it is a weekend day.
    let both = CronParser::new().day_match(DayMatch::Both);
    let cron = both.parse("0 0 13 * SAT-SUN").unwrap();
    assert_eq!(
        next_n_with(&cron, &u, "2024-01-01T00:00:00", 2),
        ["2024-01-13T00:00:00+00:00", "2024-04-13T00:00:00+00:00"]
    );
    // Reversed ranges stay errors, named by their numbers.
    for (expr, start, end) in [
        ("0 0 * * SAT-MON", 6, 1),
        ("0 0 * * 6-0", 6, 0),
        ("0 0 * * SAT-0", 6, 0),
        ("0 0 * * MON,SUN-SAT,FRI-TUE", 5, 2),
    ] {
        let err = Cron::parse(expr).unwrap_err();
        assert_eq!(err.field(), Some(CronField::DayOfWeek), "{expr}");
        assert_eq!(
            err.kind(),
            &CronErrorKind::ReversedRange { start, end },
            "{expr}"
        );
        assert!(
            err.to_string().ends_with(&format!(
                "range {start}-{end} ends before it starts (expected start <= end)"
            )),
            "{expr}: {err}"
        );
    }
    assert_eq!(Cron::parse("0 0 * * SAT-MON").unwrap_err().position(), 8);
    assert_eq!(
        Cron::parse("0 0 * * MON,SUN-SAT,FRI-TUE")
            .unwrap_err()
            .position(),
        20
    );
}

#[test]
fn last_day_of_month() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 L * *", &u, "2024-01-15T00:00:00", 4),
        [
            "2024-01-31T00:00:00+00:00",
            "2024-02-29T00:00:00+00:00",
            "2024-03-31T00:00:00+00:00",
            "2024-04-30T00:00:00+00:00"
        ]
    );
    assert_eq!(
        next_n("0 0 L 2 *", &u, "2025-01-01T00:00:00", 1),
        ["2025-02-28T00:00:00+00:00"]
    );
}

#[test]
fn last_weekday_of_month_5l() {
    let u = TimeZone::utc();
    let want = [
        "2024-01-26T00:00:00+00:00",
        "2024-02-23T00:00:00+00:00",
        "2024-03-29T00:00:00+00:00",
    ];
    assert_eq!(next_n("0 0 * * 5L", &u, "2024-01-01T00:00:00", 3), want);
    assert_eq!(next_n("0 0 * * FRIL", &u, "2024-01-01T00:00:00", 3), want);
}

#[test]
fn nearest_weekday_w() {
    let u = TimeZone::utc();
    // 2024-06-15 is a Saturday: Friday the 14th. 2024-09-15 is a Sunday:
    // Monday the 16th.
    assert_eq!(
        next_n("0 0 15W 6 *", &u, "2024-01-01T00:00:00", 1),
        ["2024-06-14T00:00:00+00:00"]
    );
    assert_eq!(
        next_n("0 0 15W 9 *", &u, "2024-01-01T00:00:00", 1),
        ["2024-09-16T00:00:00+00:00"]
    );
    // 2024-06-01 is a Saturday: W does not leave the month, so Monday the 3rd.
    assert_eq!(
        next_n("0 0 1W 6 *", &u, "2024-01-01T00:00:00", 1),
        ["2024-06-03T00:00:00+00:00"]
    );
    // 2024-03-31 is a Sunday: Friday the 29th, not Monday 1 April.
    assert_eq!(
        next_n("0 0 31W 3 *", &u, "2024-01-01T00:00:00", 1),
        ["2024-03-29T00:00:00+00:00"]
    );
    // A weekday is itself.
    assert_eq!(
        next_n("0 0 10W 1 *", &u, "2024-01-01T00:00:00", 1),
        ["2024-01-10T00:00:00+00:00"]
    );
}

#[test]
fn last_weekday_lw() {
    let u = TimeZone::utc();
    // 2024-03-31 Sunday -> 29th; 2024-04-30 Tuesday; 2024-08-31 Saturday -> 30th.
    assert_eq!(
        next_n("0 0 LW 3,4,8 *", &u, "2024-01-01T00:00:00", 3),
        [
            "2024-03-29T00:00:00+00:00",
            "2024-04-30T00:00:00+00:00",
            "2024-08-30T00:00:00+00:00"
        ]
    );
}

#[test]
fn nth_weekday_hash() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 * * MON#2", &u, "2024-01-01T00:00:00", 3),
        [
            "2024-01-08T00:00:00+00:00",
            "2024-02-12T00:00:00+00:00",
            "2024-03-11T00:00:00+00:00"
        ]
    );
    // A fifth Friday exists only in some months: 2024-03-29, 2024-05-31.
    assert_eq!(
        next_n("0 0 * * 5#5", &u, "2024-01-01T00:00:00", 2),
        ["2024-03-29T00:00:00+00:00", "2024-05-31T00:00:00+00:00"]
    );
}

#[test]
fn question_mark() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 0 ? * MON", &u, "2024-01-01T00:00:00", 1),
        ["2024-01-08T00:00:00+00:00"]
    );
    assert_eq!(
        next_n("0 0 0 1 * ?", &u, "2024-01-01T00:00:00", 1),
        ["2024-02-01T00:00:00+00:00"]
    );
}

#[test]
fn macros() {
    let u = TimeZone::utc();
    let s = "2024-05-15T10:20:30";
    let cases = [
        ("@yearly", "2025-01-01T00:00:00+00:00"),
        ("@ANNUALLY", "2025-01-01T00:00:00+00:00"),
        ("@monthly", "2024-06-01T00:00:00+00:00"),
        ("@weekly", "2024-05-19T00:00:00+00:00"),
        ("@daily", "2024-05-16T00:00:00+00:00"),
        ("@midnight", "2024-05-16T00:00:00+00:00"),
        ("@hourly", "2024-05-15T11:00:00+00:00"),
    ];
    for (m, want) in cases {
        assert_eq!(next_n(m, &u, s, 1), [want], "{m}");
    }
}

#[test]
fn year_field() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 0 1 1 * 2030,2032", &u, "2024-01-01T00:00:00", 3),
        [
            "2030-01-01T00:00:00+00:00",
            "2032-01-01T00:00:00+00:00",
            "none"
        ]
    );
    // Only past years: parses, but never fires again.
    let past = Cron::parse("0 0 0 1 1 * 2020").unwrap();
    assert_eq!(past.next_after(SystemTime::now(), &u), None);
    assert!(past.prev_before(SystemTime::now(), &u).is_some());
}

#[test]
fn day_fields_either_or_both() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 13 * FRI", &u, "2024-09-01T00:00:00", 6),
        [
            "2024-09-06T00:00:00+00:00",
            "2024-09-13T00:00:00+00:00",
            "2024-09-20T00:00:00+00:00",
            "2024-09-27T00:00:00+00:00",
            "2024-10-04T00:00:00+00:00",
            "2024-10-11T00:00:00+00:00"
        ]
    );
    let both = CronParser::new()
        .day_match(DayMatch::Both)
        .parse("0 0 13 * FRI")
        .unwrap();
    assert_eq!(
        next_n_with(&both, &u, "2024-09-01T00:00:00", 3),
        [
            "2024-09-13T00:00:00+00:00",
            "2024-12-13T00:00:00+00:00",
            "2025-06-13T00:00:00+00:00"
        ]
    );
    // With one field `*`, the other alone decides, in either mode.
    let dow_only = CronParser::new()
        .day_match(DayMatch::Both)
        .parse("0 0 * * FRI")
        .unwrap();
    assert_eq!(
        next_n_with(&dow_only, &u, "2024-09-01T00:00:00", 1),
        ["2024-09-06T00:00:00+00:00"]
    );
}

#[test]
fn leap_day_and_never_fires() {
    let u = TimeZone::utc();
    assert_eq!(
        next_n("0 0 29 2 *", &u, "2025-01-01T00:00:00", 2),
        ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]
    );
    for never in [
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "0 0 0 29 2 ? 2025",
        "0 0 0 31 2 * *",
    ] {
        let err = Cron::parse(never).unwrap_err();
        assert_eq!(err.kind(), &CronErrorKind::NeverFires, "{never}");
    }
    // Either-mode: 30 February never, but Mondays in February do.
    assert!(Cron::parse("0 0 30 2 MON").is_ok());
    assert!(
        CronParser::new()
            .day_match(DayMatch::Both)
            .parse("0 0 30 2 MON")
            .is_err()
    );
}

#[test]
fn prev_before_vectors() {
    let u = TimeZone::utc();
    assert_eq!(
        prev_n("0 0 L * *", &u, "2024-03-15T00:00:00", 3),
        [
            "2024-02-29T00:00:00+00:00",
            "2024-01-31T00:00:00+00:00",
            "2023-12-31T00:00:00+00:00"
        ]
    );
    assert_eq!(
        prev_n("*/20 * * * * *", &u, "2024-01-01T00:00:00", 2),
        ["2023-12-31T23:59:40+00:00", "2023-12-31T23:59:20+00:00"]
    );
    assert_eq!(
        prev_n("0 0 0 1 1 * 2030", &u, "2024-01-01T00:00:00", 1),
        ["none"]
    );
}

#[test]
fn before_1970() {
    let u = TimeZone::utc();
    assert_eq!(
        prev_n("0 0 1 1 *", &u, "1970-01-01T00:00:00", 2),
        ["1969-01-01T00:00:00+00:00", "1968-01-01T00:00:00+00:00"]
    );
    assert_eq!(
        next_n("0 12 * * MON", &u, "1900-01-01T00:00:00", 1),
        ["1900-01-01T12:00:00+00:00"]
    );
    // SystemTime before the epoch, with a fraction of a second.
    let cron = Cron::parse("* * * * * *").unwrap();
    let t = UNIX_EPOCH - Duration::from_millis(1500);
    assert_eq!(
        cron.next_after(t, &u),
        Some(UNIX_EPOCH - Duration::from_secs(1))
    );
    assert_eq!(
        cron.prev_before(t, &u),
        Some(UNIX_EPOCH - Duration::from_secs(2))
    );
}

#[test]
fn fixed_offset_zone() {
    let tz = TimeZone::fixed(5 * 3600 + 1800).unwrap();
    assert_eq!(
        next_n("0 9 * * *", &tz, "2024-01-01T00:00:00", 1),
        ["2024-01-01T09:00:00+05:30"]
    );
}

#[test]
fn iterators() {
    let u = TimeZone::utc();
    let cron = Cron::parse("0 0 1 * *").unwrap();
    let start = UNIX_EPOCH + Duration::from_secs(utc("2024-01-01T00:00:00") as u64);
    let fwd: Vec<_> = cron.iter_after(start, &u).take(12).collect();
    assert_eq!(fwd.len(), 12);
    assert!(fwd.windows(2).all(|w| w[0] < w[1]));
    let back: Vec<_> = cron.iter_before(fwd[11], &u).take(11).collect();
    let mut want = fwd[..11].to_vec();
    want.reverse();
    assert_eq!(back, want);
    let once = Cron::parse("0 0 0 1 1 * 2030").unwrap();
    assert_eq!(once.iter_after(start, &u).count(), 1);
}

#[test]
fn cron_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Cron>();
    check::<TimeZone>();
    let c = Cron::parse("@daily").unwrap();
    assert_eq!(c.clone(), c);
    assert_eq!(c.to_string(), "@daily");
    assert_eq!(
        "@daily".parse::<Cron>().unwrap(),
        Cron::parse("0 0 * * *").unwrap()
    );
}

// ---------------------------------------------------------------- DST

#[test]
fn dst_new_york() {
    let Some(ny) = zone("America/New_York") else {
        return;
    };
    // Spring: 2024-03-10 02:00 EST -> 03:00 EDT. A 02:30 job fires right
    // after the gap.
    assert_eq!(
        next_n("30 2 * * *", &ny, "2024-03-09T12:00:00", 2),
        ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"]
    );
    // Steps follow real time: 30 minutes between every firing.
    assert_eq!(
        next_n("*/30 * * * *", &ny, "2024-03-10T06:00:00", 3),
        [
            "2024-03-10T01:30:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-10T03:30:00-04:00"
        ]
    );
    // Autumn: 2024-11-03 02:00 EDT -> 01:00 EST. A 01:30 job runs once.
    assert_eq!(
        next_n("30 1 * * *", &ny, "2024-11-02T12:00:00", 2),
        ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]
    );
    assert_eq!(
        next_n("*/30 * * * *", &ny, "2024-11-03T05:00:00", 4),
        [
            "2024-11-03T01:30:00-04:00",
            "2024-11-03T01:00:00-05:00",
            "2024-11-03T01:30:00-05:00",
            "2024-11-03T02:00:00-05:00"
        ]
    );
    // Backwards gives the same instants.
    assert_eq!(
        prev_n("30 1 * * *", &ny, "2024-11-04T00:00:00", 1),
        ["2024-11-03T01:30:00-04:00"]
    );
    assert_eq!(
        prev_n("30 2 * * *", &ny, "2024-03-10T12:00:00", 2),
        ["2024-03-10T03:00:00-04:00", "2024-03-09T02:30:00-05:00"]
    );
}

#[test]
fn dst_paris() {
    let Some(paris) = zone("Europe/Paris") else {
        return;
    };
    assert_eq!(
        next_n("15 2 * * *", &paris, "2024-03-30T12:00:00", 2),
        ["2024-03-31T03:00:00+02:00", "2024-04-01T02:15:00+02:00"]
    );
    assert_eq!(
        next_n("15 2 * * *", &paris, "2024-10-26T12:00:00", 2),
        ["2024-10-27T02:15:00+02:00", "2024-10-28T02:15:00+01:00"]
    );
    assert_eq!(
        next_n("0 */20 * * * *", &paris, "2024-10-27T00:30:00", 4),
        [
            "2024-10-27T02:40:00+02:00",
            "2024-10-27T02:00:00+01:00",
            "2024-10-27T02:20:00+01:00",
            "2024-10-27T02:40:00+01:00"
        ]
    );
}

#[test]
fn dst_lord_howe_half_hour_shift() {
    let Some(lh) = zone("Australia/Lord_Howe") else {
        return;
    };
    // 2024-10-06 02:00 +10:30 -> 02:30 +11:00 (at 2024-10-05T15:30Z).
    assert_eq!(
        next_n("*/15 * * * *", &lh, "2024-10-05T15:00:00", 3),
        [
            "2024-10-06T01:45:00+10:30",
            "2024-10-06T02:30:00+11:00",
            "2024-10-06T02:45:00+11:00"
        ]
    );
    assert_eq!(
        next_n("15 2 * * *", &lh, "2024-10-05T00:00:00", 2),
        ["2024-10-06T02:30:00+11:00", "2024-10-07T02:15:00+11:00"]
    );
    // 2024-04-07 02:00 +11:00 -> 01:30 +10:30 (at 2024-04-06T15:00Z).
    assert_eq!(
        next_n("45 1 * * *", &lh, "2024-04-06T00:00:00", 2),
        ["2024-04-07T01:45:00+11:00", "2024-04-08T01:45:00+10:30"]
    );
    assert_eq!(
        next_n("*/15 * * * *", &lh, "2024-04-06T14:30:00", 4),
        [
            "2024-04-07T01:45:00+11:00",
            "2024-04-07T01:30:00+10:30",
            "2024-04-07T01:45:00+10:30",
            "2024-04-07T02:00:00+10:30"
        ]
    );
}

#[test]
fn dst_chatham_quarter_offset() {
    let Some(ch) = zone("Pacific/Chatham") else {
        return;
    };
    // 2024-09-29 02:45 +12:45 -> 03:45 +13:45 (at 2024-09-28T14:00Z).
    assert_eq!(
        next_n("0 3 * * *", &ch, "2024-09-28T00:00:00", 2),
        ["2024-09-29T03:45:00+13:45", "2024-09-30T03:00:00+13:45"]
    );
    assert_eq!(
        next_n("*/30 * * * *", &ch, "2024-09-28T13:00:00", 3),
        [
            "2024-09-29T02:00:00+12:45",
            "2024-09-29T02:30:00+12:45",
            "2024-09-29T04:00:00+13:45"
        ]
    );
    // 2024-04-07 03:45 +13:45 -> 02:45 +12:45 (at 2024-04-06T14:00Z).
    assert_eq!(
        next_n("0 3 * * *", &ch, "2024-04-06T00:00:00", 2),
        ["2024-04-07T03:00:00+13:45", "2024-04-08T03:00:00+12:45"]
    );
}

#[test]
fn dst_apia_skipped_day() {
    let Some(apia) = zone("Pacific/Apia") else {
        return;
    };
    // 2011-12-29T23:59:59-10:00 is followed by 2011-12-31T00:00:00+14:00.
    assert_eq!(
        next_n("0 12 * * *", &apia, "2011-12-29T00:00:00", 3),
        [
            "2011-12-29T12:00:00-10:00",
            "2011-12-31T00:00:00+14:00",
            "2011-12-31T12:00:00+14:00"
        ]
    );
    assert_eq!(
        next_n("0 0 * * *", &apia, "2011-12-29T12:00:00", 2),
        ["2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00"]
    );
    assert_eq!(
        next_n("0 * * * *", &apia, "2011-12-30T08:30:00", 3),
        [
            "2011-12-29T23:00:00-10:00",
            "2011-12-31T00:00:00+14:00",
            "2011-12-31T01:00:00+14:00"
        ]
    );
    // A job only on the 30th has no 30 December 2011 in Apia: it fires at
    // the jump (its wall time fell in the gap), then on 30 January.
    assert_eq!(
        next_n("0 9 30 * *", &apia, "2011-12-01T00:00:00", 2),
        ["2011-12-31T00:00:00+14:00", "2012-01-30T09:00:00+14:00"]
    );
}

/// Searches are monotonic and next/prev are inverse, in DST zones, for
/// random instants and expressions.
#[test]
fn next_prev_consistent_in_dst_zones() {
    let zones: Vec<TimeZone> = [
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Pacific/Apia",
    ]
    .iter()
    .filter_map(|z| TimeZone::named(z).ok())
    .chain([
        TimeZone::utc(),
        TimeZone::from_posix_rule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1").unwrap(),
    ])
    .collect();
    let exprs = [
        "*/15 * * * *",
        "30 2 * * *",
        "0 1-3 * * *",
        "*/7 2 * * *",
        "0 0 L * *",
        "0 12 * * MON#1",
        "45 1,2 * * SUN",
        "*/20 * * * * *",
    ];
    let seed = 0x5eed_u64;
    let mut rng = Rng::new(seed);
    for tz in &zones {
        for e in exprs {
            let cron = Cron::parse(e).unwrap();
            for _ in 0..40 {
                let t = 946_684_800 + (rng.next() % (40 * 365 * 86_400)) as i64;
                let n = cron.next_after_unix(t, tz).unwrap();
                let p = cron.prev_before_unix(t + 1, tz).unwrap();
                assert!(n > t && p <= t, "seed {seed:#x} {} {e} t={t}", tz.name());
                assert_eq!(
                    cron.next_after_unix(p, tz),
                    Some(n),
                    "seed {seed:#x} {} {e} t={t}",
                    tz.name()
                );
                assert_eq!(
                    cron.prev_before_unix(n, tz),
                    Some(p),
                    "seed {seed:#x} {} {e} t={t}",
                    tz.name()
                );
            }
        }
    }
}

/// Against a brute-force scan of every minute in UTC.
#[test]
fn matches_brute_force_minute_scan() {
    let seed = 0xc0ffee_u64;
    let mut rng = Rng::new(seed);
    let u = TimeZone::utc();
    let pick =
        |rng: &mut Rng, opts: &[&'static str]| opts[(rng.next() % opts.len() as u64) as usize];
    for _ in 0..300 {
        let expr = format!(
            "{} {} {} {} {}",
            pick(&mut rng, &["*", "*/7", "0", "5,35", "10-40/15", "59"]),
            pick(&mut rng, &["*", "*/5", "0", "23", "2-4"]),
            pick(
                &mut rng,
                &["*", "L", "15W", "1,15", "LW", "?", "31", "*/10"]
            ),
            pick(&mut rng, &["*", "2", "JAN-MAR", "*/4"]),
            pick(&mut rng, &["*", "MON", "5L", "SUN#2", "1-5", "?", "6,0"]),
        );
        let Ok(cron) = Cron::parse(&expr) else {
            continue;
        };
        let t = utc("2023-12-20T00:00:00") + (rng.next() % (400 * 86_400)) as i64;
        let n = cron.next_after_unix(t, &u).unwrap();
        assert!(
            cron.matches(DateTime::from_unix(n).unwrap()),
            "seed {seed:#x}: {expr}"
        );
        // No earlier minute matches (scan at most 40 days of minutes).
        let mut m = (t / 60 + 1) * 60;
        while m < n && m < t + 40 * 86_400 {
            assert!(
                !cron.matches(DateTime::from_unix(m).unwrap()),
                "seed {seed:#x}: {expr} skipped {m}"
            );
            m += 60;
        }
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn malformed_expressions_report_field_and_position() {
    use CronField::*;
    // (expression, byte position, field)
    let cases: &[(&str, usize, Option<CronField>)] = &[
        ("", 0, None),
        ("   ", 3, None),
        ("* * * *", 7, None),
        ("* * * * * * * *", 14, None),
        ("@reboot", 0, None),
        ("@dailyx", 0, None),
        ("@daily *", 7, None),
        ("60 * * * *", 0, Some(Minute)),
        ("* 24 * * *", 2, Some(Hour)),
        ("* * 0 * *", 4, Some(DayOfMonth)),
        ("* * 32 * *", 4, Some(DayOfMonth)),
        ("* * * 0 *", 6, Some(Month)),
        ("* * * 13 *", 6, Some(Month)),
        ("* * * * 8", 8, Some(DayOfWeek)),
        ("60 * * * * *", 0, Some(Second)),
        ("* * * * * * 0", 12, Some(Year)),
        ("* * * * * * 10000", 12, Some(Year)),
        ("*/0 * * * *", 2, Some(Minute)),
        ("1-2/0 * * * *", 4, Some(Minute)),
        ("*/ * * * *", 2, Some(Minute)),
        ("5-1 * * * *", 0, Some(Minute)),
        ("* 1- * * *", 4, Some(Hour)),
        ("a * * * *", 0, Some(Minute)),
        ("1,,2 * * * *", 2, Some(Minute)),
        ("1, * * * *", 2, Some(Minute)),
        (",1 * * * *", 0, Some(Minute)),
        ("1x * * * *", 1, Some(Minute)),
        ("* * * FOO *", 6, Some(Month)),
        ("* * * JANX *", 9, Some(Month)),
        ("* * * * MONDAY", 11, Some(DayOfWeek)),
        ("* * * * FUN", 8, Some(DayOfWeek)),
        ("* * * JAN-FOO *", 10, Some(Month)),
        ("* * * * MON#6", 12, Some(DayOfWeek)),
        ("* * * * MON#0", 12, Some(DayOfWeek)),
        ("* * * * MON#", 12, Some(DayOfWeek)),
        ("* * 32W * *", 4, Some(DayOfMonth)),
        ("* * LX * *", 5, Some(DayOfMonth)),
        ("* * L-3 * *", 5, Some(DayOfMonth)),
        ("? * * * *", 0, Some(Minute)),
        ("* ? * * *", 2, Some(Hour)),
        ("* * * ? *", 6, Some(Month)),
        ("* * 5L * *", 5, Some(DayOfMonth)),
        ("* * * * 1W", 9, Some(DayOfWeek)),
        ("* * * * L", 8, Some(DayOfWeek)),
        ("*/5x * * * *", 3, Some(Minute)),
        ("1-5-7 * * * *", 3, Some(Minute)),
        ("99999999999 * * * *", 0, Some(Minute)),
        ("* * * * * * 2024-2020", 12, Some(Year)),
        ("* * 1-é * *", 6, Some(DayOfMonth)),
        ("é * * * *", 0, Some(Minute)),
        ("0 0 30 2 *", 0, None),
    ];
    assert!(cases.len() >= 40);
    for &(expr, pos, field) in cases {
        let err = Cron::parse(expr).expect_err(expr);
        assert_eq!(
            (err.position(), err.field()),
            (pos, field),
            "{expr:?}: {err}"
        );
        // Messages say what was expected.
        let msg = err.to_string();
        assert!(msg.contains("expected"), "{expr:?}: {msg}");
        assert!(expr.is_char_boundary(err.position()), "{expr:?}");
    }
}

#[test]
fn error_messages_are_specific() {
    let e = Cron::parse("0 25 * * *").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid cron expression: hour field at byte 2: value 25 out of range (expected 0-23)"
    );
    assert_eq!(
        e.kind(),
        &CronErrorKind::OutOfRange {
            value: 25,
            min: 0,
            max: 23
        }
    );
    let e = Cron::parse("* * * *").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid cron expression: at byte 7: expected 5, 6 or 7 fields, found 4"
    );
    let e = Cron::parse("5-1 * * * *").unwrap_err();
    assert_eq!(e.kind(), &CronErrorKind::ReversedRange { start: 5, end: 1 });
}

// ---------------------------------------------------------------- fuzz

fn fuzz(n: u64, seed: u64) {
    const PIECES: &[&str] = &[
        "*",
        "?",
        "/",
        "-",
        ",",
        "#",
        "L",
        "W",
        "LW",
        " ",
        " ",
        " ",
        "0",
        "1",
        "5",
        "7",
        "12",
        "23",
        "29",
        "30",
        "31",
        "59",
        "60",
        "99",
        "2024",
        "MON",
        "fri",
        "JAN",
        "dec",
        "@daily",
        "@",
        "x",
        "é",
        "\t",
        "\u{3000}",
        "\0",
        "-1",
        "4294967296",
    ];
    // Valid in every field, then field-specific ones (valid or not).
    const ATOMS: &[&str] = &[
        "*", "*", "*", "*/5", "1-5", "3", "1,2", "2-6/2", "2", "*/13", "7", "4", "1-12/5", "10",
        "*", "*/2", "L", "15W", "MON#2", "5L", "?", "JAN", "fri", "LW", "59", "0", "2024", "29",
        "31", "SUN-SAT",
    ];
    let mut rng = Rng::new(seed);
    let u = TimeZone::utc();
    let ny = TimeZone::named("America/New_York").ok();
    let mut ok = 0u64;
    for i in 0..n {
        // Half free-form strings, half 5-7 space-separated fields built
        // from the same pieces (so that many parse and get searched).
        let structured = i % 2 == 1;
        let (parts, per_part) = if structured {
            (5 + rng.next() % 3, 3)
        } else {
            (1, 16)
        };
        let mut s = String::new();
        for p in 0..parts {
            if p > 0 {
                s.push(' ');
            }
            let len = 1 + rng.next() % per_part;
            let len = if structured {
                len.min(1 + rng.next() % 2)
            } else {
                len
            };
            for _ in 0..len {
                if structured && rng.next() % 16 != 0 {
                    if !s.ends_with(' ') && !s.is_empty() {
                        s.push(',');
                    }
                    let n = if rng.next() % 4 == 0 { ATOMS.len() } else { 14 };
                    s.push_str(ATOMS[(rng.next() % n as u64) as usize]);
                } else if rng.next() % 8 == 0 {
                    s.push(char::from_u32((rng.next() % 0x2_0000) as u32).unwrap_or('?'));
                } else {
                    let piece = PIECES[(rng.next() % PIECES.len() as u64) as usize];
                    if !(structured && piece.trim().is_empty()) {
                        s.push_str(piece);
                    }
                }
            }
        }
        let t = (rng.next() % 4_000_000_000) as i64 - 1_000_000_000;
        let result = std::panic::catch_unwind(|| {
            if let Ok(c) = Cron::parse(&s) {
                let n = c.next_after_unix(t, &u);
                let p = c.prev_before_unix(t, &u);
                if let Some(ny) = &ny {
                    let _ = c.next_after_unix(t, ny);
                }
                assert!(n.is_none_or(|n| n > t) && p.is_none_or(|p| p < t));
                true
            } else {
                false
            }
        });
        match result {
            Ok(true) => ok += 1,
            Ok(false) => {}
            Err(_) => panic!("seed {seed:#x}, case {i}: {s:?} panicked"),
        }
    }
    println!("fuzzed {n} strings (seed {seed:#x}), {ok} parsed");
}

#[test]
fn random_strings_never_panic() {
    fuzz(100_000, 0x00c0_ffee_1234_5678);
}

#[test]
#[ignore = "10^6 strings: a few minutes in debug builds"]
fn random_strings_never_panic_million() {
    fuzz(1_000_000, 0x0bad_cafe_0000_0001);
}
