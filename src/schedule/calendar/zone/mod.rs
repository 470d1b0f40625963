//! Time zones: [`TimeZone`] maps instants to wall-clock offsets and wall
//! clocks back to instants.
//!
//! - `mod.rs`: [`TimeZone`] (UTC, fixed offsets, IANA zones, the local
//!   zone), [`ZoneError`], [`LocalResult`], and the crate-private
//!   `Segment` (an interval of constant offset) the cron search walks.
//! - `tzif.rs`: the TZif v1-v4 reader for `/usr/share/zoneinfo` files.
//! - `posix.rs`: the POSIX TZ rule from a TZif footer or a `TZ` variable.
//!
//! Civil-date arithmetic lives in `../civil.rs`, the only other file this
//! folder imports; `../cron/` walks the segments.

mod posix;
mod tzif;

use crate::schedule::calendar::civil::{DAY, DateTime, MAX_UNIX, MIN_UNIX};
use posix::PosixTz;
use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tzif::Tzif;

/// An interval `[start, end)` of Unix seconds with one UTC offset, and the
/// offsets on either side (`i64::MIN` / `i64::MAX`: no transition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) offset: i32,
    pub(crate) prev_offset: i32,
    pub(crate) next_offset: i32,
}

impl Segment {
    pub(crate) fn constant(offset: i32) -> Segment {
        Segment {
            start: i64::MIN,
            end: i64::MAX,
            offset,
            prev_offset: offset,
            next_offset: offset,
        }
    }
}

/// Largest accepted fixed offset: 25:59:59, as RFC 9636 allows.
const MAX_OFFSET: i32 = 26 * 3600 - 1;

#[derive(Clone, Debug)]
enum Kind {
    Fixed(i32),
    Rules(Arc<Tzif>),
}

/// A time zone: UTC, a fixed offset, or an IANA zone read from the system's
/// zoneinfo database (or from TZif bytes, or a POSIX `TZ` rule).
///
/// Cloning is cheap (a reference count). Offsets are seconds east of UTC.
///
/// # Examples
///
/// ```no_run
/// use gosling::schedule::{DateTime, TimeZone};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let paris = TimeZone::named("Europe/Paris")?;
/// let t = UNIX_EPOCH + Duration::from_secs(1_719_835_200); // 2024-07-01T12:00:00Z
/// assert_eq!(paris.offset_at(t), 7200);
/// assert_eq!(paris.to_local(t).to_string(), "2024-07-01T14:00:00");
/// # Ok::<(), gosling::schedule::ZoneError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TimeZone {
    kind: Kind,
    name: Arc<str>,
}

/// Why a [`TimeZone`] could not be built.
///
/// # Examples
///
/// ```
/// use gosling::schedule::{TimeZone, ZoneError};
///
/// match TimeZone::named("../etc/passwd") {
///     Err(ZoneError::InvalidName { name }) => assert_eq!(name, "../etc/passwd"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ZoneError {
    /// The zone name is empty, absolute, or has `..` or odd characters.
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// No zoneinfo file by that name.
    NotFound {
        /// The zone name.
        name: String,
        /// The path that was tried last.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    Io {
        /// The path read.
        path: PathBuf,
        /// The error from the file system.
        source: io::Error,
    },
    /// The bytes are not a valid TZif file.
    Corrupt {
        /// The zone name or path.
        name: String,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A POSIX TZ rule that does not parse.
    InvalidRule {
        /// The rejected rule.
        rule: String,
    },
    /// A fixed offset beyond ±25:59:59.
    InvalidOffset(i32),
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::InvalidName { name } => write!(
                f,
                "invalid time zone name {name:?} (expected a relative name like \"Europe/Paris\")"
            ),
            ZoneError::NotFound { name, path } => write!(
                f,
                "time zone {name:?} not found (no file {})",
                path.display()
            ),
            ZoneError::Io { path, source } => {
                write!(f, "cannot read time zone file {}: {source}", path.display())
            }
            ZoneError::Corrupt { name, reason } => {
                write!(f, "time zone file for {name:?} is not valid TZif: {reason}")
            }
            ZoneError::InvalidRule { rule } => write!(
                f,
                "invalid POSIX TZ rule {rule:?} (expected e.g. \"CET-1CEST,M3.5.0,M10.5.0/3\")"
            ),
            ZoneError::InvalidOffset(o) => {
                write!(f, "UTC offset {o} s out of range (expected -93599..=93599)")
            }
        }
    }
}

impl Error for ZoneError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ZoneError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What a wall-clock time is in a zone: one instant, two (a repeated hour
/// when clocks go back), or none (skipped when clocks go forward).
///
/// # Examples
///
/// ```
/// use gosling::schedule::{DateTime, LocalResult, TimeZone};
///
/// let utc = TimeZone::utc();
/// let local = DateTime::new(2024, 1, 1, 0, 0, 0)?;
/// assert!(matches!(utc.resolve(local), LocalResult::Single(_)));
/// # Ok::<(), gosling::schedule::DateTimeError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalResult {
    /// The wall time happens once.
    Single(SystemTime),
    /// The wall time happens twice: clocks went back over it.
    Ambiguous {
        /// Its first occurrence (the earlier offset).
        earlier: SystemTime,
        /// Its second occurrence.
        later: SystemTime,
    },
    /// The wall time never happens: clocks jumped over it.
    Gap {
        /// The instant of the jump; wall clocks read the end of the gap
        /// there.
        transition: SystemTime,
    },
}

/// Unix seconds (floored) of a `SystemTime`, saturating far outside years
/// 1..=9999.
pub(crate) fn to_unix_floor(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs())
            .unwrap_or(i64::MAX)
            .min(MAX_UNIX + DAY),
        Err(e) => {
            let d = e.duration();
            let s = i64::try_from(d.as_secs())
                .unwrap_or(i64::MAX)
                .min(-MIN_UNIX + DAY);
            if d.subsec_nanos() > 0 { -s - 1 } else { -s }
        }
    }
}

/// Unix seconds (ceiled) of a `SystemTime`.
pub(crate) fn to_unix_ceil(t: SystemTime) -> i64 {
    let f = to_unix_floor(t);
    let whole = from_unix(f);
    if whole == t { f } else { f + 1 }
}

/// The `SystemTime` of Unix seconds.
pub(crate) fn from_unix(s: i64) -> SystemTime {
    if s >= 0 {
        UNIX_EPOCH + Duration::from_secs(s as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(s.unsigned_abs())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
}

fn zoneinfo_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("TZDIR").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(dir)];
    }
    [
        "/usr/share/zoneinfo",
        "/usr/lib/zoneinfo",
        "/usr/share/lib/zoneinfo",
        "/etc/zoneinfo",
    ]
    .iter()
    .map(PathBuf::from)
    .collect()
}

impl TimeZone {
    /// Coordinated Universal Time.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    /// use std::time::SystemTime;
    ///
    /// assert_eq!(TimeZone::utc().offset_at(SystemTime::now()), 0);
    /// assert_eq!(TimeZone::utc().name(), "UTC");
    /// ```
    pub fn utc() -> TimeZone {
        TimeZone {
            kind: Kind::Fixed(0),
            name: Arc::from("UTC"),
        }
    }

    /// A zone `offset_secs` seconds east of UTC, with no daylight time.
    ///
    /// # Errors
    ///
    /// [`ZoneError::InvalidOffset`] beyond ±25:59:59.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    ///
    /// let india = TimeZone::fixed(5 * 3600 + 1800)?;
    /// assert_eq!(india.name(), "+05:30");
    /// assert!(TimeZone::fixed(100_000).is_err());
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn fixed(offset_secs: i32) -> Result<TimeZone, ZoneError> {
        if !(-MAX_OFFSET..=MAX_OFFSET).contains(&offset_secs) {
            return Err(ZoneError::InvalidOffset(offset_secs));
        }
        let a = offset_secs.unsigned_abs();
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let mut name = format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60);
        if a % 60 != 0 {
            name.push_str(&format!(":{:02}", a % 60));
        }
        Ok(TimeZone {
            kind: Kind::Fixed(offset_secs),
            name: Arc::from(name),
        })
    }

    /// The IANA zone `name` (`"America/New_York"`), read from the zoneinfo
    /// database: `$TZDIR` if set, else `/usr/share/zoneinfo` and the other
    /// usual places. `"UTC"` and `"Etc/UTC"` work without the database.
    ///
    /// # Errors
    ///
    /// [`ZoneError::InvalidName`] for an empty or absolute name or one with
    /// `..`; [`ZoneError::NotFound`] when no file has that name;
    /// [`ZoneError::Io`] when it cannot be read; [`ZoneError::Corrupt`] when
    /// it is not valid TZif.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use gosling::schedule::TimeZone;
    ///
    /// let tz = TimeZone::named("Australia/Lord_Howe")?;
    /// assert_eq!(tz.name(), "Australia/Lord_Howe");
    /// assert!(TimeZone::named("Mars/Olympus_Mons").is_err());
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn named(name: &str) -> Result<TimeZone, ZoneError> {
        if !valid_name(name) {
            return Err(ZoneError::InvalidName {
                name: name.to_string(),
            });
        }
        let mut last = PathBuf::new();
        for dir in zoneinfo_dirs() {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => return TimeZone::from_tzif_bytes(name, &bytes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => last = path,
                Err(source) => return Err(ZoneError::Io { path, source }),
            }
        }
        if matches!(
            name,
            "UTC" | "Etc/UTC" | "Zulu" | "Etc/Zulu" | "UCT" | "Etc/UCT"
        ) {
            return Ok(TimeZone::utc());
        }
        Err(ZoneError::NotFound {
            name: name.to_string(),
            path: last,
        })
    }

    /// A zone from the bytes of a TZif file (versions 1 to 4), named
    /// `name`.
    ///
    /// # Errors
    ///
    /// [`ZoneError::Corrupt`] when the bytes are not valid TZif (truncated,
    /// bad counts, unordered transitions, an unparsable footer, leap-second
    /// data).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{TimeZone, ZoneError};
    ///
    /// let err = TimeZone::from_tzif_bytes("junk", b"not a tzif file").unwrap_err();
    /// assert!(matches!(err, ZoneError::Corrupt { .. }));
    /// ```
    pub fn from_tzif_bytes(name: &str, bytes: &[u8]) -> Result<TimeZone, ZoneError> {
        let tz = Tzif::parse(bytes).map_err(|reason| ZoneError::Corrupt {
            name: name.to_string(),
            reason,
        })?;
        // A zone that never changes offset takes the fixed-offset fast path.
        let kind = match tz.constant_offset() {
            Some(offset) => Kind::Fixed(offset),
            None => Kind::Rules(Arc::new(tz)),
        };
        Ok(TimeZone {
            kind,
            name: Arc::from(name),
        })
    }

    /// A zone from a POSIX TZ rule such as `"CET-1CEST,M3.5.0,M10.5.0/3"`
    /// (offsets west of UTC are positive there, as in the `TZ` variable).
    ///
    /// # Errors
    ///
    /// [`ZoneError::InvalidRule`] when `rule` does not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let tz = TimeZone::from_posix_rule("EST5EDT,M3.2.0,M11.1.0")?;
    /// let july = UNIX_EPOCH + Duration::from_secs(1_719_835_200);
    /// assert_eq!(tz.offset_at(july), -4 * 3600);
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn from_posix_rule(rule: &str) -> Result<TimeZone, ZoneError> {
        let parsed = PosixTz::parse(rule.as_bytes()).ok_or_else(|| ZoneError::InvalidRule {
            rule: rule.to_string(),
        })?;
        let tz = Tzif::from_posix(parsed);
        let kind = match tz.constant_offset() {
            Some(offset) => Kind::Fixed(offset),
            None => Kind::Rules(Arc::new(tz)),
        };
        Ok(TimeZone {
            kind,
            name: Arc::from(rule),
        })
    }

    /// The system's local zone: from `TZ` if it is set (a zone name, an
    /// absolute path to a TZif file, or a POSIX rule; empty means UTC), else
    /// from `/etc/localtime`; UTC when neither exists, as the C library
    /// does.
    ///
    /// # Errors
    ///
    /// The errors of [`TimeZone::named`] and [`TimeZone::from_tzif_bytes`]
    /// for the zone `TZ` or `/etc/localtime` names, and
    /// [`ZoneError::InvalidRule`] for a `TZ` that is neither a known name
    /// nor a valid rule.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    ///
    /// if let Ok(tz) = TimeZone::local() {
    ///     println!("local zone: {}", tz.name());
    /// }
    /// ```
    pub fn local() -> Result<TimeZone, ZoneError> {
        match std::env::var("TZ") {
            Ok(tz) => {
                let tz = tz.strip_prefix(':').unwrap_or(&tz);
                if tz.is_empty() {
                    return Ok(TimeZone::utc());
                }
                if tz.starts_with('/') {
                    return TimeZone::from_path(Path::new(tz), tz);
                }
                match TimeZone::named(tz) {
                    Ok(zone) => Ok(zone),
                    Err(ZoneError::NotFound { .. } | ZoneError::InvalidName { .. }) => {
                        TimeZone::from_posix_rule(tz)
                    }
                    Err(e) => Err(e),
                }
            }
            Err(_) => {
                let path = Path::new("/etc/localtime");
                let name = std::fs::read_link(path)
                    .ok()
                    .and_then(|target| {
                        let s = target.to_string_lossy().into_owned();
                        s.split_once("zoneinfo/").map(|(_, n)| n.to_string())
                    })
                    .unwrap_or_else(|| "localtime".to_string());
                match TimeZone::from_path(path, &name) {
                    Err(ZoneError::NotFound { .. }) => Ok(TimeZone::utc()),
                    other => other,
                }
            }
        }
    }

    fn from_path(path: &Path, name: &str) -> Result<TimeZone, ZoneError> {
        match std::fs::read(path) {
            Ok(bytes) => TimeZone::from_tzif_bytes(name, &bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ZoneError::NotFound {
                name: name.to_string(),
                path: path.to_path_buf(),
            }),
            Err(source) => Err(ZoneError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The zone's name: `"UTC"`, `"+05:30"`, the IANA name, or the rule.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    ///
    /// assert_eq!(TimeZone::fixed(-3600)?.name(), "-01:00");
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The UTC offset in seconds (east positive) in effect at `t`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    /// use std::time::UNIX_EPOCH;
    ///
    /// assert_eq!(TimeZone::fixed(3600)?.offset_at(UNIX_EPOCH), 3600);
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn offset_at(&self, t: SystemTime) -> i32 {
        self.offset_at_unix(to_unix_floor(t))
    }

    /// [`offset_at`](TimeZone::offset_at) for Unix seconds.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    ///
    /// let tz = TimeZone::from_posix_rule("CET-1CEST,M3.5.0,M10.5.0/3")?;
    /// assert_eq!(tz.offset_at_unix(1_704_067_200), 3600); // January
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn offset_at_unix(&self, t: i64) -> i32 {
        match &self.kind {
            Kind::Fixed(o) => *o,
            Kind::Rules(tz) => tz.segment(t).offset,
        }
    }

    /// Whether daylight saving time is in effect at Unix second `t`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    ///
    /// let tz = TimeZone::from_posix_rule("CET-1CEST,M3.5.0,M10.5.0/3")?;
    /// assert!(!tz.is_dst_unix(1_704_067_200)); // January
    /// assert!(tz.is_dst_unix(1_719_835_200)); // July
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn is_dst_unix(&self, t: i64) -> bool {
        match &self.kind {
            Kind::Fixed(_) => false,
            Kind::Rules(tz) => tz.is_dst(t),
        }
    }

    /// The wall-clock time in this zone at `t` (clamped to years 1..=9999).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::TimeZone;
    /// use std::time::UNIX_EPOCH;
    ///
    /// let tz = TimeZone::fixed(-5 * 3600)?;
    /// assert_eq!(tz.to_local(UNIX_EPOCH).to_string(), "1969-12-31T19:00:00");
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn to_local(&self, t: SystemTime) -> DateTime {
        let t = to_unix_floor(t);
        let local = t.saturating_add(i64::from(self.offset_at_unix(t)));
        DateTime::from_unix_unchecked(local.clamp(MIN_UNIX, MAX_UNIX))
    }

    /// The instant(s) at which wall clocks in this zone read `local`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::schedule::{DateTime, LocalResult, TimeZone};
    ///
    /// // New York clocks jumped from 02:00 to 03:00 on 2024-03-10.
    /// let ny = TimeZone::from_posix_rule("EST5EDT,M3.2.0,M11.1.0")?;
    /// let skipped = DateTime::new(2024, 3, 10, 2, 30, 0).unwrap();
    /// assert!(matches!(ny.resolve(skipped), LocalResult::Gap { .. }));
    /// let twice = DateTime::new(2024, 11, 3, 1, 30, 0).unwrap();
    /// assert!(matches!(ny.resolve(twice), LocalResult::Ambiguous { .. }));
    /// # Ok::<(), gosling::schedule::ZoneError>(())
    /// ```
    pub fn resolve(&self, local: DateTime) -> LocalResult {
        let l = local.to_unix();
        let mut found: Vec<i64> = Vec::with_capacity(2);
        let mut gap = None;
        let mut x = l - 3 * DAY;
        while x <= l + 3 * DAY {
            let seg = self.segment(x);
            let t = l - i64::from(seg.offset);
            if seg.start <= t && t < seg.end && !found.contains(&t) {
                found.push(t);
            }
            if gap.is_none()
                && seg.start != i64::MIN
                && seg.start + i64::from(seg.prev_offset) <= l
                && l < seg.start + i64::from(seg.offset)
            {
                gap = Some(seg.start);
            }
            if seg.end == i64::MAX {
                break;
            }
            x = seg.end;
        }
        found.sort_unstable();
        match (found.as_slice(), gap) {
            ([t], _) => LocalResult::Single(from_unix(*t)),
            ([a, .., b], _) => LocalResult::Ambiguous {
                earlier: from_unix(*a),
                later: from_unix(*b),
            },
            ([], Some(t)) => LocalResult::Gap {
                transition: from_unix(t),
            },
            // Unreachable for a consistent zone; answer the UTC reading.
            ([], None) => LocalResult::Single(from_unix(l)),
        }
    }

    /// Whether the offset never changes (UTC, fixed offsets): the cron
    /// search's fast path.
    #[inline]
    pub(crate) fn fixed_offset(&self) -> Option<i32> {
        match &self.kind {
            Kind::Fixed(o) => Some(*o),
            Kind::Rules(_) => None,
        }
    }

    /// The largest distance from UTC, in seconds, of any offset the zone
    /// ever uses.
    #[inline]
    pub(crate) fn max_abs_offset(&self) -> u32 {
        match &self.kind {
            Kind::Fixed(o) => o.unsigned_abs(),
            Kind::Rules(tz) => tz.max_abs_offset(),
        }
    }

    /// The constant-offset interval containing Unix second `t`.
    pub(crate) fn segment(&self, t: i64) -> Segment {
        match &self.kind {
            Kind::Fixed(o) => Segment::constant(*o),
            Kind::Rules(tz) => tz.segment(t),
        }
    }
}
