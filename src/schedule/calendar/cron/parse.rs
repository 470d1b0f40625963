//! The expression parser: text to [`Spec`], and [`CronError`] with the field
//! and byte position of what it rejected.
//!
//! Grammar (per field, case-insensitive names):
//!
//! ```text
//! field := item ("," item)*
//! item  := ("*" | "?") ["/" step]
//!        | value ["-" value] ["/" step]
//!        | "L" | "LW" | value "W"          (day of month)
//!        | value "L" | value "#" n         (day of week)
//! ```
//!
//! Ranges never wrap: `lo-hi` needs `lo <= hi`. In the day-of-week field
//! the name `SUN` at the end of a range reads as 7 (`SAT-SUN` is 6-7),
//! unless the range starts on Sunday too (`SUN-SUN` is 0-0).

use super::fields::{Spec, YEAR_MAX, YEAR_MIN};
use std::error::Error;
use std::fmt;

/// The fields of a cron expression, named in errors.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, CronField};
///
/// let err = Cron::parse("0 25 * * *").unwrap_err();
/// assert_eq!(err.field(), Some(CronField::Hour));
/// assert_eq!(CronField::Hour.to_string(), "hour");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CronField {
    /// Seconds, 0-59 (6- and 7-field expressions only).
    Second,
    /// Minutes, 0-59.
    Minute,
    /// Hours, 0-23.
    Hour,
    /// Day of the month, 1-31, `L`, `LW`, `nW`, `?`.
    DayOfMonth,
    /// Month, 1-12 or `JAN`-`DEC`.
    Month,
    /// Day of the week, 0-7 (0 and 7 are Sunday) or `SUN`-`SAT`, `nL`,
    /// `w#n`, `?`.
    DayOfWeek,
    /// Year, 1-9999 (7-field expressions only).
    Year,
}

impl CronField {
    fn range(self) -> (u32, u32) {
        match self {
            CronField::Second | CronField::Minute => (0, 59),
            CronField::Hour => (0, 23),
            CronField::DayOfMonth => (1, 31),
            CronField::Month => (1, 12),
            CronField::DayOfWeek => (0, 7),
            CronField::Year => (YEAR_MIN, YEAR_MAX),
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CronField::Second => "second",
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
            CronField::Year => "year",
        })
    }
}

/// What was wrong with a cron expression; see [`CronError::kind`].
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, CronErrorKind};
///
/// let err = Cron::parse("*/0 * * * *").unwrap_err();
/// assert_eq!(err.kind(), &CronErrorKind::ZeroStep);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CronErrorKind {
    /// The expression is empty or only whitespace.
    Empty,
    /// Not 5, 6 or 7 fields.
    FieldCount {
        /// How many fields there were.
        found: usize,
    },
    /// An `@` macro that is not one of `@yearly @annually @monthly @weekly
    /// @daily @midnight @hourly`.
    UnknownMacro,
    /// A character (or the end of the field) where something else was
    /// expected.
    Syntax {
        /// What the parser expected there.
        expected: &'static str,
        /// What it found (`None`: the end of the field).
        found: Option<char>,
    },
    /// A number outside the field's range.
    OutOfRange {
        /// The number as written (saturated at `u32::MAX`).
        value: u32,
        /// The smallest allowed value.
        min: u32,
        /// The largest allowed value.
        max: u32,
    },
    /// A step of zero (`*/0`).
    ZeroStep,
    /// A range whose start is after its end (`10-5`).
    ReversedRange {
        /// The range's start.
        start: u32,
        /// The range's end.
        end: u32,
    },
    /// A well-formed expression that matches no date at all (`0 0 30 2 *`).
    NeverFires,
}

/// Why [`Cron::parse`](super::Cron::parse) rejected an
/// expression: the [kind](CronError::kind) of problem, the
/// [field](CronError::field) it is in and its byte
/// [position](CronError::position) in the input.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{Cron, CronErrorKind, CronField};
///
/// let err = Cron::parse("0 0 * JANX *").unwrap_err();
/// assert_eq!(err.field(), Some(CronField::Month));
/// assert_eq!(err.position(), 9);
/// assert_eq!(
///     err.to_string(),
///     "invalid cron expression: month field at byte 9: expected `,`, `-`, `/` or the end of the field, found `X`"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    kind: CronErrorKind,
    field: Option<CronField>,
    position: usize,
}

impl CronError {
    fn new(kind: CronErrorKind, field: Option<CronField>, position: usize) -> CronError {
        CronError {
            kind,
            field,
            position,
        }
    }

    /// What was wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, CronErrorKind};
    ///
    /// let err = Cron::parse("* * *").unwrap_err();
    /// assert_eq!(err.kind(), &CronErrorKind::FieldCount { found: 3 });
    /// ```
    pub fn kind(&self) -> &CronErrorKind {
        &self.kind
    }

    /// The field the problem is in, if it is in one.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{Cron, CronField};
    ///
    /// assert_eq!(Cron::parse("61 * * * *").unwrap_err().field(), Some(CronField::Minute));
    /// assert_eq!(Cron::parse("").unwrap_err().field(), None);
    /// ```
    pub fn field(&self) -> Option<CronField> {
        self.field
    }

    /// Byte offset in the input of the rejected character or token (the
    /// input's length when something is missing at the end).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::Cron;
    ///
    /// assert_eq!(Cron::parse("0 0 * * MON-FOO").unwrap_err().position(), 12);
    /// ```
    pub fn position(&self) -> usize {
        self.position
    }
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid cron expression: ")?;
        match self.field {
            Some(field) => write!(f, "{field} field at byte {}: ", self.position)?,
            None => write!(f, "at byte {}: ", self.position)?,
        }
        match &self.kind {
            CronErrorKind::Empty => f.write_str("expected 5, 6 or 7 fields or an @macro, found nothing"),
            CronErrorKind::FieldCount { found } => {
                write!(f, "expected 5, 6 or 7 fields, found {found}")
            }
            CronErrorKind::UnknownMacro => f.write_str(
                "unknown macro (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
            ),
            CronErrorKind::Syntax { expected, found } => match found {
                Some(c) => write!(f, "expected {expected}, found `{c}`"),
                None => write!(f, "expected {expected}, found the end of the field"),
            },
            CronErrorKind::OutOfRange { value, min, max } => {
                write!(f, "value {value} out of range (expected {min}-{max})")
            }
            CronErrorKind::ZeroStep => f.write_str("step of 0 (expected a step of 1 or more)"),
            CronErrorKind::ReversedRange { start, end } => write!(
                f,
                "range {start}-{end} ends before it starts (expected start <= end)"
            ),
            CronErrorKind::NeverFires => {
                f.write_str("the expression matches no date (expected a day that exists)")
            }
        }
    }
}

impl Error for CronError {}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field's parse result.
struct FieldSet {
    bits: Vec<u64>,
    star: bool,
    last: bool,
    last_weekday: bool,
    nearest: u32,
    dow_last: u8,
    dow_nth: u64,
}

impl FieldSet {
    fn new(field: CronField) -> FieldSet {
        let words = (field.range().1 as usize >> 6) + 1;
        FieldSet {
            bits: vec![0; words],
            star: false,
            last: false,
            last_weekday: false,
            nearest: 0,
            dow_last: 0,
            dow_nth: 0,
        }
    }

    fn set(&mut self, v: u32) {
        self.bits[(v >> 6) as usize] |= 1 << (v & 63);
    }

    fn word(&self) -> u64 {
        self.bits[0]
    }
}

struct FieldParser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    field: CronField,
}

impl FieldParser<'_> {
    fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            Some(self.bytes[self.pos])
        } else {
            None
        }
    }

    fn found(&self) -> Option<char> {
        if self.pos < self.end {
            self.src[self.pos..].chars().next()
        } else {
            None
        }
    }

    fn err(&self, kind: CronErrorKind, position: usize) -> CronError {
        CronError::new(kind, Some(self.field), position)
    }

    fn syntax(&self, expected: &'static str) -> CronError {
        self.err(
            CronErrorKind::Syntax {
                expected,
                found: self.found(),
            },
            self.pos,
        )
    }

    /// Digits as a saturating u32, or `None` when there is no digit here.
    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        let mut v: u32 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            v = v.saturating_mul(10).saturating_add(u32::from(b - b'0'));
            self.pos += 1;
        }
        (self.pos > start).then_some(v)
    }

    /// A number or (month, weekday) name, range-checked.
    fn value(&mut self) -> Result<u32, CronError> {
        let start = self.pos;
        let (min, max) = self.field.range();
        let expected = match self.field {
            CronField::Month => "a number, a month name (JAN-DEC) or `*`",
            CronField::DayOfWeek => "a number, a day name (SUN-SAT) or `*`",
            CronField::DayOfMonth => "a number, `*`, `?`, `L` or `LW`",
            _ => "a number or `*`",
        };
        if let Some(v) = self.number() {
            if v < min || v > max {
                return Err(self.err(CronErrorKind::OutOfRange { value: v, min, max }, start));
            }
            return Ok(v);
        }
        let names: &[&str] = match self.field {
            CronField::Month => &MONTHS,
            CronField::DayOfWeek => &DAYS,
            _ => return Err(self.syntax(expected)),
        };
        if self.end - self.pos >= 3 {
            let word = &self.bytes[self.pos..self.pos + 3];
            if let Some(i) = names
                .iter()
                .position(|n| n.as_bytes().eq_ignore_ascii_case(word))
            {
                self.pos += 3;
                return Ok(i as u32 + min);
            }
        }
        Err(self.syntax(expected))
    }

    /// `/step` if present (the `/` already seen).
    fn step(&mut self) -> Result<u32, CronError> {
        let start = self.pos;
        match self.number() {
            Some(0) => Err(self.err(CronErrorKind::ZeroStep, start)),
            Some(v) => Ok(v),
            None => Err(self.syntax("a step (a number of 1 or more)")),
        }
    }

    fn item(&mut self, out: &mut FieldSet, whole_start: usize) -> Result<(), CronError> {
        let item_start = self.pos;
        let (min, max) = self.field.range();
        let day_field = matches!(self.field, CronField::DayOfMonth | CronField::DayOfWeek);
        let (lo, hi, step) = match self.peek() {
            Some(b @ (b'*' | b'?')) => {
                if b == b'?' && !day_field {
                    return Err(self.syntax("a number or `*` (`?` is for the day fields)"));
                }
                self.pos += 1;
                if self.peek() == Some(b'/') && b == b'*' {
                    self.pos += 1;
                    (min, max, self.step()?)
                } else {
                    if item_start == whole_start && self.pos == self.end {
                        out.star = true;
                    }
                    (min, max, 1)
                }
            }
            Some(b'L' | b'l') if self.field == CronField::DayOfMonth => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'W' | b'w')) {
                    self.pos += 1;
                    out.last_weekday = true;
                } else {
                    out.last = true;
                }
                return Ok(());
            }
            _ => {
                let lo = self.value()?;
                match self.peek() {
                    Some(b'-') => {
                        self.pos += 1;
                        let hi_start = self.pos;
                        let mut hi = self.value()?;
                        // `SUN` ending a range is day 7, so that `SAT-SUN`
                        // and `MON-SUN` run up to Sunday; `SUN-SUN` (and
                        // `0-SUN`) stay Sunday alone.
                        if self.field == CronField::DayOfWeek
                            && hi == 0
                            && lo > 0
                            && !self.bytes[hi_start].is_ascii_digit()
                        {
                            hi = 7;
                        }
                        if hi < lo {
                            return Err(self.err(
                                CronErrorKind::ReversedRange { start: lo, end: hi },
                                item_start,
                            ));
                        }
                        let step = if self.peek() == Some(b'/') {
                            self.pos += 1;
                            self.step()?
                        } else {
                            1
                        };
                        (lo, hi, step)
                    }
                    Some(b'/') => {
                        self.pos += 1;
                        (lo, max, self.step()?)
                    }
                    Some(b'W' | b'w') if self.field == CronField::DayOfMonth => {
                        self.pos += 1;
                        out.nearest |= 1 << lo;
                        return Ok(());
                    }
                    Some(b'L' | b'l') if self.field == CronField::DayOfWeek => {
                        self.pos += 1;
                        out.dow_last |= 1 << (lo % 7);
                        return Ok(());
                    }
                    Some(b'#') if self.field == CronField::DayOfWeek => {
                        self.pos += 1;
                        let n_pos = self.pos;
                        match self.number() {
                            Some(n @ 1..=5) => {
                                out.dow_nth |= 1 << ((n - 1) * 7 + lo % 7);
                                return Ok(());
                            }
                            Some(n) => {
                                return Err(self.err(
                                    CronErrorKind::OutOfRange {
                                        value: n,
                                        min: 1,
                                        max: 5,
                                    },
                                    n_pos,
                                ));
                            }
                            None => return Err(self.syntax("an occurrence number 1-5 after `#`")),
                        }
                    }
                    _ => (lo, lo, 1),
                }
            }
        };
        let mut v = lo;
        while v <= hi {
            out.set(v);
            v = match v.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        Ok(())
    }

    fn field(&mut self) -> Result<FieldSet, CronError> {
        let mut out = FieldSet::new(self.field);
        let whole_start = self.pos;
        loop {
            self.item(&mut out, whole_start)?;
            match self.peek() {
                None => break,
                Some(b',') => {
                    self.pos += 1;
                    if self.pos == self.end {
                        return Err(self.syntax("another list item after `,`"));
                    }
                }
                Some(_) => {
                    return Err(self.syntax(match self.field {
                        CronField::DayOfMonth => "`,`, `-`, `/`, `W` or the end of the field",
                        CronField::DayOfWeek => "`,`, `-`, `/`, `L`, `#` or the end of the field",
                        _ => "`,`, `-`, `/` or the end of the field",
                    }));
                }
            }
        }
        Ok(out)
    }
}

const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 0 1 1 *"),
    ("@annually", "0 0 0 1 1 *"),
    ("@monthly", "0 0 0 1 * *"),
    ("@weekly", "0 0 0 * * 0"),
    ("@daily", "0 0 0 * * *"),
    ("@midnight", "0 0 0 * * *"),
    ("@hourly", "0 0 * * * *"),
];

/// Parses `src` into a [`Spec`]; `days_and` picks AND semantics for the
/// two day fields.
pub(crate) fn parse(src: &str, days_and: bool) -> Result<Spec, CronError> {
    // Token spans, split on ASCII whitespace.
    let bytes = src.as_bytes();
    let mut tokens: Vec<(usize, usize)> = Vec::with_capacity(7);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        tokens.push((start, i));
    }
    let Some(&(first_start, first_end)) = tokens.first() else {
        return Err(CronError::new(CronErrorKind::Empty, None, src.len()));
    };
    if bytes[first_start] == b'@' {
        let name = &src[first_start..first_end];
        let Some((_, expansion)) = MACROS.iter().find(|(m, _)| m.eq_ignore_ascii_case(name)) else {
            return Err(CronError::new(
                CronErrorKind::UnknownMacro,
                None,
                first_start,
            ));
        };
        if let Some(&(extra, _)) = tokens.get(1) {
            return Err(CronError::new(
                CronErrorKind::Syntax {
                    expected: "nothing after the macro",
                    found: src[extra..].chars().next(),
                },
                None,
                extra,
            ));
        }
        return parse(expansion, days_and);
    }
    let fields: &[CronField] = match tokens.len() {
        5 => &[
            CronField::Minute,
            CronField::Hour,
            CronField::DayOfMonth,
            CronField::Month,
            CronField::DayOfWeek,
        ],
        6 => &[
            CronField::Second,
            CronField::Minute,
            CronField::Hour,
            CronField::DayOfMonth,
            CronField::Month,
            CronField::DayOfWeek,
        ],
        7 => &[
            CronField::Second,
            CronField::Minute,
            CronField::Hour,
            CronField::DayOfMonth,
            CronField::Month,
            CronField::DayOfWeek,
            CronField::Year,
        ],
        n => {
            let position = if n > 7 { tokens[7].0 } else { src.len() };
            return Err(CronError::new(
                CronErrorKind::FieldCount { found: n },
                None,
                position,
            ));
        }
    };
    let mut spec = Spec {
        seconds: 1,
        minutes: 0,
        hours: 0,
        months: 0,
        dom: 0,
        dom_last: false,
        dom_last_weekday: false,
        dom_nearest: 0,
        dom_star: false,
        dow: 0,
        dow_last: 0,
        dow_nth: 0,
        dow_star: false,
        dow_by_first: [0; 7],
        years: None,
        days_and,
        wall_time: true,
        all_days: false,
        first_tod: 0,
    };
    for (&field, &(start, end)) in fields.iter().zip(&tokens) {
        let mut p = FieldParser {
            src,
            bytes,
            pos: start,
            end,
            field,
        };
        let set = p.field()?;
        match field {
            CronField::Second => spec.seconds = set.word(),
            CronField::Minute => spec.minutes = set.word(),
            CronField::Hour => {
                spec.hours = set.word();
                spec.wall_time = spec.hours != (1 << 24) - 1;
            }
            CronField::DayOfMonth => {
                spec.dom = set.word() as u32;
                spec.dom_last = set.last;
                spec.dom_last_weekday = set.last_weekday;
                spec.dom_nearest = set.nearest;
                spec.dom_star = set.star;
            }
            CronField::Month => spec.months = set.word(),
            CronField::DayOfWeek => {
                let w = set.word();
                spec.dow = ((w | w >> 7) & 0x7f) as u8;
                spec.dow_last = set.dow_last;
                spec.dow_nth = set.dow_nth;
                spec.dow_star = set.star;
            }
            CronField::Year => {
                if !set.star {
                    let mut years = Box::new([0u64; (YEAR_MAX as usize >> 6) + 1]);
                    years.copy_from_slice(&set.bits);
                    spec.years = Some(years);
                }
            }
        }
    }
    for (first, mask) in spec.dow_by_first.iter_mut().enumerate() {
        for d in 1..=31u32 {
            if spec.dow >> ((first as u32 + d - 1) % 7) & 1 == 1 {
                *mask |= 1 << d;
            }
        }
    }
    spec.all_days = spec.years.is_none() && spec.months == 0x1ffe && spec.dom_star && spec.dow_star;
    // Every time field has at least one value, so a day has a first match.
    spec.first_tod = spec.next_tod(0).unwrap_or(0);
    if !spec.can_fire() {
        return Err(CronError::new(CronErrorKind::NeverFires, None, 0));
    }
    Ok(spec)
}
