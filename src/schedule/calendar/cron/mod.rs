//! Cron expressions: [`Cron`] parses one and finds the instants it fires at
//! in a [`TimeZone`].
//!
//! - `parse.rs`: text to the compiled form, and [`CronError`].
//! - `fields.rs`: the compiled form (a bitset per field plus the `L` / `W` /
//!   `#` specials) and the search over civil (wall-clock) time.
//! - `search.rs`: the search over instants, through a zone's offsets and its
//!   DST gaps and overlaps.
//!
//! Imports only `../civil.rs` and `../zone/` (and `std`).

mod fields;
mod parse;
mod search;

pub use parse::{CronError, CronErrorKind, CronField};

use crate::schedule::calendar::civil::DateTime;
use crate::schedule::calendar::zone::{TimeZone, from_unix, to_unix_ceil, to_unix_floor};
use fields::Spec;
use std::fmt;
use std::iter::FusedIterator;
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

/// How the day-of-month and day-of-week fields combine when both are
/// restricted (neither is `*` nor `?`).
///
/// # Examples
///
/// ```
/// use gosling::schedule::{CronParser, DayMatch};
///
/// // Friday the 13th only:
/// let cron = CronParser::new().day_match(DayMatch::Both).parse("0 0 13 * FRI")?;
/// # Ok::<(), gosling::schedule::CronError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DayMatch {
    /// A day matches if either field matches (POSIX and Vixie cron; the
    /// default): `0 0 13 * FRI` fires on every 13th and every Friday.
    #[default]
    Either,
    /// A day matches only if both fields match: `0 0 13 * FRI` fires on
    /// Friday the 13th.
    Both,
}

/// Options for parsing a [`Cron`]; [`Cron::parse`] uses the defaults.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{CronParser, DayMatch};
///
/// let parser = CronParser::new().day_match(DayMatch::Both);
/// let cron = parser.parse("0 9 1-7 * MON")?; // the first Monday, 09:00
/// # Ok::<(), gosling::schedule::CronError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CronParser {
    day_match: DayMatch,
}

impl CronParser {
    /// The default options: [`DayMatch::Either`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::CronParser;
    ///
    /// let cron = CronParser::new().parse("@daily")?;
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn new() -> CronParser {
        CronParser::default()
    }

    /// Sets how the two day fields combine.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{CronParser, DayMatch};
    ///
    /// let parser = CronParser::new().day_match(DayMatch::Both);
    /// # let _ = parser;
    /// ```
    #[must_use]
    pub fn day_match(mut self, day_match: DayMatch) -> CronParser {
        self.day_match = day_match;
        self
    }

    /// Parses `expression` with these options; see [`Cron::parse`] for the
    /// syntax.
    ///
    /// # Errors
    ///
    /// [`CronError`] as for [`Cron::parse`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::CronParser;
    ///
    /// assert!(CronParser::new().parse("0 0 31 2 *").is_err()); // never fires
    /// ```
    pub fn parse(&self, expression: &str) -> Result<Cron, CronError> {
        let spec = parse::parse(expression, self.day_match == DayMatch::Both)?;
        Ok(Cron {
            spec: Arc::new(spec),
            source: Arc::from(expression.trim()),
        })
    }
}

/// A parsed cron expression.
///
/// # Syntax
///
/// Five fields `minute hour day-of-month month day-of-week`, six with
/// `second` first, or seven with `year` last:
///
/// | field        | values                    | specials                       |
/// |--------------|---------------------------|--------------------------------|
/// | second       | 0-59                      |                                |
/// | minute       | 0-59                      |                                |
/// | hour         | 0-23                      |                                |
/// | day of month | 1-31                      | `?` `L` `LW` `15W`             |
/// | month        | 1-12, `JAN`-`DEC`         |                                |
/// | day of week  | 0-7 (0, 7 = Sunday), `SUN`-`SAT` | `?` `5L` `FRIL` `MON#2` |
/// | year         | 1-9999                    |                                |
///
/// Every field takes `*`, lists (`1,15`), ranges (`9-17`), steps (`*/5`,
/// `10-40/7`, `5/15` = from 5 to the end). Names are case-insensitive. `L`
/// is the last day of the month, `15W` the weekday nearest the 15th (within
/// the month), `LW` the last weekday, `5L` the last Friday, `MON#2` the
/// second Monday. The macros `@yearly` (`@annually`), `@monthly`,
/// `@weekly`, `@daily` (`@midnight`) and `@hourly` stand for the usual
/// expressions.
///
/// A day-of-week range ending in `SUN` runs to the end of the week, Sunday
/// counting as 7: `SAT-SUN` is the weekend, `MON-SUN` every day and
/// `FRI-SUN/2` Friday and Sunday, while `SUN-SUN` is Sunday alone and
/// `SUN-SAT` the whole week. Ranges do not wrap around: `SAT-MON` (like
/// `6-0` or `17-3`) is rejected with [`CronErrorKind::ReversedRange`];
/// write `SAT-SUN,MON` instead.
///
/// When both day fields are restricted, a day matches if either does (as
/// in POSIX cron); [`CronParser::day_match`] selects "both". A day field
/// counts as restricted unless it is exactly `*` or `?` (so `*/2` is
/// restricted, unlike Vixie cron, which looks only at the first character).
///
/// An expression that can match no date at all (`0 0 30 2 *`) is rejected
/// by the parser with [`CronErrorKind::NeverFires`]; one that has simply
/// stopped firing (a year field in the past) parses, and its searches
/// return `None`. Searches never loop: they stop at the year 9999 (and at
/// the year 1 going backwards).
///
/// # Time zones and daylight saving time
///
/// Expressions are read on the wall clock of the [`TimeZone`] passed to the
/// search. When clocks jump forward, a job with a restricted hour field
/// whose wall time falls in the skipped interval fires once, at the jump
/// (right after the gap); when clocks go back, it fires only the first time
/// its wall time comes round. Hour steps (`0 */2 * * *`) count as
/// restricted hours. A job whose hour field is `*` follows real
/// elapsed time instead: skipped minutes do not fire, repeated minutes fire
/// again (`*/15 * * * *` fires every 15 real minutes through both). Results
/// are strictly increasing in real time.
///
/// `Cron` is `Send + Sync` and cheap to clone. Two `Cron`s are equal when
/// they compile to the same schedule (`0 0 * * 0` equals `0 0 * * SUN`),
/// whatever their text; `Display` writes the text as given.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, DateTime, TimeZone};
///
/// let cron = Cron::parse("0 30 9 * * MON-FRI")?;
/// let start = DateTime::new(2024, 1, 5, 10, 0, 0).unwrap().to_unix(); // a Friday
/// let next = cron.next_after_unix(start, &TimeZone::utc()).unwrap();
/// assert_eq!(DateTime::from_unix(next).unwrap().to_string(), "2024-01-08T09:30:00");
/// # Ok::<(), gosling::schedule::CronError>(())
/// ```
#[derive(Clone)]
pub struct Cron {
    spec: Arc<Spec>,
    source: Arc<str>,
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cron").field(&&*self.source).finish()
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Cron) -> bool {
        self.spec == other.spec
    }
}

impl Eq for Cron {}

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Cron, CronError> {
        Cron::parse(s)
    }
}

impl Cron {
    /// Parses an expression with the default options (see the type's docs
    /// for the syntax).
    ///
    /// # Errors
    ///
    /// [`CronError`] with the field, the byte position and what was
    /// expected, or [`CronErrorKind::NeverFires`] for a valid expression
    /// that matches no date (`0 0 30 2 *`). No input panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, CronErrorKind, CronField};
    ///
    /// assert!(Cron::parse("*/5 * * * *").is_ok());
    /// let err = Cron::parse("0 9 * * MON#6").unwrap_err();
    /// assert_eq!(err.field(), Some(CronField::DayOfWeek));
    /// assert_eq!(err.position(), 12);
    /// assert!(matches!(err.kind(), CronErrorKind::OutOfRange { value: 6, .. }));
    /// ```
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        CronParser::new().parse(expression)
    }

    /// The first firing time strictly after `t`, or `None` if there is none
    /// before the year 10000.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let cron = Cron::parse("@hourly")?;
    /// let t = UNIX_EPOCH + Duration::from_secs(90);
    /// assert_eq!(cron.next_after(t, &TimeZone::utc()), Some(UNIX_EPOCH + Duration::from_secs(3600)));
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn next_after(&self, t: SystemTime, tz: &TimeZone) -> Option<SystemTime> {
        self.next_after_unix(to_unix_floor(t), tz).map(from_unix)
    }

    /// The last firing time strictly before `t`, or `None` if there is none
    /// after the year 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let cron = Cron::parse("@daily")?;
    /// let t = UNIX_EPOCH + Duration::from_secs(90);
    /// assert_eq!(cron.prev_before(t, &TimeZone::utc()), Some(UNIX_EPOCH));
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn prev_before(&self, t: SystemTime, tz: &TimeZone) -> Option<SystemTime> {
        self.prev_before_unix(to_unix_ceil(t), tz).map(from_unix)
    }

    /// [`next_after`](Cron::next_after) on Unix seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    ///
    /// let cron = Cron::parse("0 */5 * * * *")?;
    /// assert_eq!(cron.next_after_unix(1_704_067_200, &TimeZone::utc()), Some(1_704_067_500));
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    #[inline]
    pub fn next_after_unix(&self, t: i64, tz: &TimeZone) -> Option<i64> {
        search::next_after(&self.spec, t, tz)
    }

    /// [`prev_before`](Cron::prev_before) on Unix seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    ///
    /// let cron = Cron::parse("0 */5 * * * *")?;
    /// assert_eq!(cron.prev_before_unix(1_704_067_200, &TimeZone::utc()), Some(1_704_066_900));
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    #[inline]
    pub fn prev_before_unix(&self, t: i64, tz: &TimeZone) -> Option<i64> {
        search::prev_before(&self.spec, t, tz)
    }

    /// The firing times after `t`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    /// use std::time::UNIX_EPOCH;
    ///
    /// let cron = Cron::parse("0 0 1 * *")?;
    /// let utc = TimeZone::utc();
    /// let firsts: Vec<_> = cron.iter_after(UNIX_EPOCH, &utc).take(3).map(|t| utc.to_local(t).to_string()).collect();
    /// assert_eq!(firsts, ["1970-02-01T00:00:00", "1970-03-01T00:00:00", "1970-04-01T00:00:00"]);
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn iter_after<'a>(&'a self, t: SystemTime, tz: &'a TimeZone) -> CronIter<'a> {
        CronIter {
            cron: self,
            tz,
            at: Some(to_unix_floor(t)),
        }
    }

    /// The firing times before `t`, latest first.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, TimeZone};
    /// use std::time::UNIX_EPOCH;
    ///
    /// let cron = Cron::parse("@yearly")?;
    /// let utc = TimeZone::utc();
    /// let years: Vec<_> = cron.iter_before(UNIX_EPOCH, &utc).take(2).map(|t| utc.to_local(t).year()).collect();
    /// assert_eq!(years, [1969, 1968]);
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn iter_before<'a>(&'a self, t: SystemTime, tz: &'a TimeZone) -> CronRevIter<'a> {
        CronRevIter {
            cron: self,
            tz,
            at: Some(to_unix_ceil(t)),
        }
    }

    /// Whether the wall-clock time `local` matches the expression (the
    /// zone does not enter: no DST rule applies).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, DateTime};
    ///
    /// let cron = Cron::parse("0 0 L * *")?; // midnight, last day of the month
    /// assert!(cron.matches(DateTime::new(2024, 2, 29, 0, 0, 0).unwrap()));
    /// assert!(!cron.matches(DateTime::new(2024, 2, 28, 0, 0, 0).unwrap()));
    /// # Ok::<(), gosling::schedule::CronError>(())
    /// ```
    pub fn matches(&self, local: DateTime) -> bool {
        self.spec.matches_local(local.to_unix())
    }
}

/// Iterator over a [`Cron`]'s firing times after an instant; from
/// [`Cron::iter_after`].
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, TimeZone};
/// use std::time::UNIX_EPOCH;
///
/// let cron = Cron::parse("@hourly")?;
/// let utc = TimeZone::utc();
/// assert_eq!(cron.iter_after(UNIX_EPOCH, &utc).take(24).count(), 24);
/// # Ok::<(), gosling::schedule::CronError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CronIter<'a> {
    cron: &'a Cron,
    tz: &'a TimeZone,
    at: Option<i64>,
}

impl Iterator for CronIter<'_> {
    type Item = SystemTime;

    fn next(&mut self) -> Option<SystemTime> {
        let next = self.cron.next_after_unix(self.at?, self.tz);
        self.at = next;
        next.map(from_unix)
    }
}

impl FusedIterator for CronIter<'_> {}

/// Iterator over a [`Cron`]'s firing times before an instant, latest first;
/// from [`Cron::iter_before`].
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, TimeZone};
/// use std::time::UNIX_EPOCH;
///
/// let cron = Cron::parse("@daily")?;
/// let utc = TimeZone::utc();
/// assert_eq!(cron.iter_before(UNIX_EPOCH, &utc).next(), cron.prev_before(UNIX_EPOCH, &utc));
/// # Ok::<(), gosling::schedule::CronError>(())
/// ```
#[derive(Debug, Clone)]
pub struct CronRevIter<'a> {
    cron: &'a Cron,
    tz: &'a TimeZone,
    at: Option<i64>,
}

impl Iterator for CronRevIter<'_> {
    type Item = SystemTime;

    fn next(&mut self) -> Option<SystemTime> {
        let prev = self.cron.prev_before_unix(self.at?, self.tz);
        self.at = prev;
        prev.map(from_unix)
    }
}

impl FusedIterator for CronRevIter<'_> {}
