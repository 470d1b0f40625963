//! Civil (proleptic Gregorian) calendar arithmetic, in one place: days since
//! the Unix epoch to year/month/day and back, weekdays, month lengths, and
//! the public [`DateTime`] type built on them.
//!
//! The conversions are Howard Hinnant's `days_from_civil` /
//! `civil_from_days`, exact for every year `i32` can hold without overflow
//! of the intermediate `i64`s.

use std::error::Error;
use std::fmt;

/// Seconds in a civil day.
pub(crate) const DAY: i64 = 86_400;
/// First second of 0001-01-01T00:00:00 (UTC), the earliest instant searched.
pub(crate) const MIN_UNIX: i64 = -62_135_596_800;
/// Last second of 9999-12-31T23:59:59 (UTC), the latest instant searched.
pub(crate) const MAX_UNIX: i64 = 253_402_300_799;

/// Days since 1970-01-01 of the civil date `y-m-d` (`m` in 1..=12).
#[inline]
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date `(year, month, day)` of a day count since 1970-01-01.
#[inline]
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Whether `y` is a Gregorian leap year.
#[inline]
pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Number of days in month `m` (1..=12) of year `y`.
#[inline]
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 => 28 + u32::from(is_leap(y)),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Weekday of a day count since 1970-01-01: 0 = Sunday … 6 = Saturday.
#[inline]
pub(crate) fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    (days + 4).rem_euclid(7) as u32
}

/// A civil date and time of day, without a time zone: what a wall clock
/// shows. Years run from 1 to 9999 (proleptic Gregorian calendar); seconds
/// from 0 to 59 (no leap seconds, like cron and Unix time).
///
/// Ordering is chronological. `Display` writes ISO 8601
/// (`2024-03-10T02:30:00`).
///
/// # Examples
///
/// ```
/// use gosling::schedule::DateTime;
///
/// let t = DateTime::new(2024, 2, 29, 12, 30, 0)?;
/// assert_eq!(t.to_string(), "2024-02-29T12:30:00");
/// assert_eq!(t.weekday(), 4); // Thursday
/// assert_eq!(DateTime::from_unix(t.to_unix()), Some(t));
/// assert!(DateTime::new(2023, 2, 29, 0, 0, 0).is_err());
/// # Ok::<(), gosling::schedule::DateTimeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

/// Why [`DateTime::new`] rejected its arguments; each variant hands back the
/// value that was out of range.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{DateTime, DateTimeError};
///
/// assert_eq!(DateTime::new(2024, 13, 1, 0, 0, 0), Err(DateTimeError::Month(13)));
/// assert_eq!(
///     DateTime::new(2024, 13, 1, 0, 0, 0).unwrap_err().to_string(),
///     "month 13 out of range (expected 1-12)"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateTimeError {
    /// The year is outside 1..=9999.
    Year(i32),
    /// The month is outside 1..=12.
    Month(u8),
    /// The day does not exist in that month of that year.
    Day(u8),
    /// The hour is outside 0..=23.
    Hour(u8),
    /// The minute is outside 0..=59.
    Minute(u8),
    /// The second is outside 0..=59.
    Second(u8),
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DateTimeError::Year(v) => write!(f, "year {v} out of range (expected 1-9999)"),
            DateTimeError::Month(v) => write!(f, "month {v} out of range (expected 1-12)"),
            DateTimeError::Day(v) => write!(f, "day {v} does not exist in that month"),
            DateTimeError::Hour(v) => write!(f, "hour {v} out of range (expected 0-23)"),
            DateTimeError::Minute(v) => write!(f, "minute {v} out of range (expected 0-59)"),
            DateTimeError::Second(v) => write!(f, "second {v} out of range (expected 0-59)"),
        }
    }
}

impl Error for DateTimeError {}

impl DateTime {
    /// A civil date-time from its parts.
    ///
    /// # Errors
    ///
    /// [`DateTimeError`] names the first part that is out of range (the day
    /// is checked against the month's real length, leap years included).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{DateTime, DateTimeError};
    ///
    /// assert!(DateTime::new(2024, 2, 29, 23, 59, 59).is_ok());
    /// assert_eq!(DateTime::new(2024, 4, 31, 0, 0, 0), Err(DateTimeError::Day(31)));
    /// ```
    pub fn new(
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<DateTime, DateTimeError> {
        if !(1..=9999).contains(&year) {
            return Err(DateTimeError::Year(year));
        }
        if !(1..=12).contains(&month) {
            return Err(DateTimeError::Month(month));
        }
        if day == 0 || u32::from(day) > days_in_month(i64::from(year), u32::from(month)) {
            return Err(DateTimeError::Day(day));
        }
        if hour > 23 {
            return Err(DateTimeError::Hour(hour));
        }
        if minute > 59 {
            return Err(DateTimeError::Minute(minute));
        }
        if second > 59 {
            return Err(DateTimeError::Second(second));
        }
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The civil date-time `secs` seconds after 1970-01-01T00:00:00, or
    /// `None` outside years 1..=9999. Read as UTC, this is the date-time of
    /// the Unix instant `secs`; [`TimeZone::to_local`] applies a zone.
    ///
    /// [`TimeZone::to_local`]: super::TimeZone::to_local
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::DateTime;
    ///
    /// let t = DateTime::from_unix(1_704_067_200).unwrap();
    /// assert_eq!(t.to_string(), "2024-01-01T00:00:00");
    /// assert_eq!(DateTime::from_unix(-1).unwrap().to_string(), "1969-12-31T23:59:59");
    /// ```
    pub fn from_unix(secs: i64) -> Option<DateTime> {
        if !(MIN_UNIX..=MAX_UNIX).contains(&secs) {
            return None;
        }
        Some(Self::from_unix_unchecked(secs))
    }

    /// Same as `from_unix` for an argument already known to be in range.
    pub(crate) fn from_unix_unchecked(secs: i64) -> DateTime {
        let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
        let sod = secs.rem_euclid(DAY);
        DateTime {
            year: y as i32,
            month: m as u8,
            day: d as u8,
            hour: (sod / 3600) as u8,
            minute: (sod / 60 % 60) as u8,
            second: (sod % 60) as u8,
        }
    }

    /// Seconds from 1970-01-01T00:00:00 to this date-time, both read on the
    /// same clock (as UTC, this is the Unix time).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::DateTime;
    ///
    /// assert_eq!(DateTime::new(1970, 1, 2, 0, 0, 1)?.to_unix(), 86_401);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn to_unix(&self) -> i64 {
        days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        ) * DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The year (1..=9999).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.year(), 2024);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month (1..=12).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.month(), 5);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month (1..=31).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.day(), 6);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The hour (0..=23).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.hour(), 7);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The minute (0..=59).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.minute(), 8);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The second (0..=59).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(2024, 5, 6, 7, 8, 9)?.second(), 9);
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn second(&self) -> u8 {
        self.second
    }

    /// The day of the week: 0 = Sunday, 1 = Monday … 6 = Saturday (cron's
    /// numbering).
    ///
    /// # Examples
    ///
    /// ```
    /// # use gosling::schedule::DateTime;
    /// assert_eq!(DateTime::new(1970, 1, 1, 0, 0, 0)?.weekday(), 4); // Thursday
    /// # Ok::<(), gosling::schedule::DateTimeError>(())
    /// ```
    pub fn weekday(&self) -> u8 {
        weekday(days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        )) as u8
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_days() {
        for z in (-1_000_000..1_000_000).step_by(97) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
        assert_eq!(days_from_civil(1, 1, 1) * DAY, MIN_UNIX);
        assert_eq!(days_from_civil(9999, 12, 31) * DAY + DAY - 1, MAX_UNIX);
    }
}
