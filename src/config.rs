//! Configuration from the environment: [`Config::from_env`] reads the
//! `WORKER_*` variables (optionally behind a prefix, for applications with
//! several pools) into a [`Config`] whose unset fields stay `None`, so a pool
//! builder can apply it and let its own explicit settings win.
//!
//! | variable | field | values |
//! |----------|-------|--------|
//! | `WORKER_POOL_SIZE` | [`pool_size`](Config::pool_size) | a whole number ≥ 1 |
//! | `WORKER_QUEUE_SIZE` | [`queue_size`](Config::queue_size) | a whole number; `0` = unbounded |
//! | `WORKER_PRIORITY` | [`priority`](Config::priority) | `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` (any case) |
//! | `WORKER_TASK_TIMEOUT` | [`task_timeout`](Config::task_timeout) | a duration ([`parse_duration`]); `0` = none |
//! | `WORKER_SHUTDOWN_TIMEOUT` | [`shutdown_timeout`](Config::shutdown_timeout) | a duration; `0` = none |
//!
//! Values are read strictly: no surrounding whitespace, no sign, no empty
//! value. A bad value is a [`ConfigError`] naming the variable and the value.
//! Variables the table does not list are ignored.

#![forbid(unsafe_code)]

use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

const POOL_SIZE: &str = "WORKER_POOL_SIZE";
const QUEUE_SIZE: &str = "WORKER_QUEUE_SIZE";
const PRIORITY: &str = "WORKER_PRIORITY";
const TASK_TIMEOUT: &str = "WORKER_TASK_TIMEOUT";
const SHUTDOWN_TIMEOUT: &str = "WORKER_SHUTDOWN_TIMEOUT";

/// Pool settings read from the environment; `None` where the variable is
/// unset.
///
/// # Examples
///
/// ```
/// use gosling::config::{Config, QueueSize, Timeout};
/// use std::time::Duration;
///
/// let config = Config::from_vars([
///     ("WORKER_POOL_SIZE", "8"),
///     ("WORKER_QUEUE_SIZE", "0"),
///     ("WORKER_TASK_TIMEOUT", "1m30s"),
/// ])?;
/// assert_eq!(config.pool_size.map(|n| n.get()), Some(8));
/// assert_eq!(config.queue_size, Some(QueueSize::Unbounded));
/// assert_eq!(config.task_timeout, Some(Timeout::After(Duration::from_secs(90))));
/// assert_eq!(config.priority, None); // unset
/// # Ok::<(), gosling::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Config {
    /// `WORKER_POOL_SIZE`: the number of workers.
    pub pool_size: Option<NonZeroUsize>,
    /// `WORKER_QUEUE_SIZE`: the queue's capacity (`0` reads as unbounded).
    pub queue_size: Option<QueueSize>,
    /// `WORKER_PRIORITY`: whether tasks are ordered by priority.
    pub priority: Option<bool>,
    /// `WORKER_TASK_TIMEOUT`: the default per-task timeout.
    pub task_timeout: Option<Timeout>,
    /// `WORKER_SHUTDOWN_TIMEOUT`: how long a graceful shutdown waits.
    pub shutdown_timeout: Option<Timeout>,
}

/// A queue capacity: bounded, or unbounded (`WORKER_QUEUE_SIZE=0`).
///
/// # Examples
///
/// ```
/// use gosling::config::{Config, QueueSize};
///
/// let config = Config::from_vars([("WORKER_QUEUE_SIZE", "1024")])?;
/// assert_eq!(config.queue_size.and_then(QueueSize::bound).map(|n| n.get()), Some(1024));
/// # Ok::<(), gosling::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueSize {
    /// No limit.
    Unbounded,
    /// At most this many queued tasks.
    Bounded(NonZeroUsize),
}

impl QueueSize {
    /// The bound, or `None` when unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::QueueSize;
    /// assert_eq!(QueueSize::Unbounded.bound(), None);
    /// ```
    #[must_use]
    pub const fn bound(self) -> Option<NonZeroUsize> {
        match self {
            QueueSize::Unbounded => None,
            QueueSize::Bounded(n) => Some(n),
        }
    }
}

/// A time limit: none (`0`), or a duration.
///
/// # Examples
///
/// ```
/// use gosling::config::{Config, Timeout};
/// use std::time::Duration;
///
/// let config = Config::from_vars([("WORKER_SHUTDOWN_TIMEOUT", "0")])?;
/// assert_eq!(config.shutdown_timeout, Some(Timeout::Unlimited));
/// assert_eq!(Timeout::After(Duration::from_secs(5)).duration(), Some(Duration::from_secs(5)));
/// # Ok::<(), gosling::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// No time limit (the variable was `0`).
    Unlimited,
    /// This long (never zero).
    After(Duration),
}

impl Timeout {
    /// The duration, or `None` for no limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Timeout;
    /// assert_eq!(Timeout::Unlimited.duration(), None);
    /// ```
    #[must_use]
    pub const fn duration(self) -> Option<Duration> {
        match self {
            Timeout::Unlimited => None,
            Timeout::After(d) => Some(d),
        }
    }
}

impl Config {
    /// Reads the `WORKER_*` variables from the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for the first variable (in the table's order) whose
    /// value is malformed or not Unicode.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    ///
    /// match Config::from_env() {
    ///     Ok(config) => println!("pool size: {:?}", config.pool_size),
    ///     Err(err) => eprintln!("{err}"), // e.g. invalid WORKER_POOL_SIZE="eight": ...
    /// }
    /// ```
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_env_prefixed("")
    }

    /// Reads `<prefix>WORKER_*` from the process environment, for
    /// applications with several pools: `from_env_prefixed("PAYMENTS_")`
    /// reads `PAYMENTS_WORKER_POOL_SIZE` and so on. The prefix is used as
    /// given (no underscore is added).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for the first malformed or non-Unicode value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    ///
    /// let payments = Config::from_env_prefixed("PAYMENTS_").unwrap_or_default();
    /// let _ = payments.pool_size;
    /// ```
    pub fn from_env_prefixed(prefix: &str) -> Result<Config, ConfigError> {
        Config::read(prefix, |name| std::env::var_os(name))
    }

    /// Reads the `WORKER_*` variables from `vars` instead of the process
    /// environment (tests need not touch the real one). Later pairs win over
    /// earlier ones with the same key; other keys are ignored.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for the first malformed value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    ///
    /// let config = Config::from_vars([("WORKER_PRIORITY", "yes"), ("HOME", "/root")])?;
    /// assert_eq!(config.priority, Some(true));
    ///
    /// let err = Config::from_vars([("WORKER_POOL_SIZE", "-2")]).unwrap_err();
    /// assert_eq!(err.variable(), "WORKER_POOL_SIZE");
    /// assert_eq!(err.value(), "-2");
    /// # Ok::<(), gosling::config::ConfigError>(())
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Config::from_vars_prefixed("", vars)
    }

    /// [`from_vars`](Config::from_vars) with a prefix, as
    /// [`from_env_prefixed`](Config::from_env_prefixed).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for the first malformed value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    ///
    /// let vars = [("PAYMENTS_WORKER_POOL_SIZE", "4"), ("WORKER_POOL_SIZE", "16")];
    /// let config = Config::from_vars_prefixed("PAYMENTS_", vars)?;
    /// assert_eq!(config.pool_size.map(|n| n.get()), Some(4));
    /// # Ok::<(), gosling::config::ConfigError>(())
    /// ```
    pub fn from_vars_prefixed<I, K, V>(prefix: &str, vars: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut found: [Option<String>; 5] = Default::default();
        let names = [
            POOL_SIZE,
            QUEUE_SIZE,
            PRIORITY,
            TASK_TIMEOUT,
            SHUTDOWN_TIMEOUT,
        ];
        for (key, value) in vars {
            let Some(rest) = key.as_ref().strip_prefix(prefix) else {
                continue;
            };
            if let Some(slot) = names.iter().position(|n| *n == rest) {
                found[slot] = Some(value.as_ref().to_owned());
            }
        }
        Config::read(prefix, |name| {
            let rest = name.strip_prefix(prefix)?;
            let slot = names.iter().position(|n| *n == rest)?;
            found[slot].take().map(OsString::from)
        })
    }

    /// Parses each variable `lookup` finds, in the table's order.
    fn read(
        prefix: &str,
        mut lookup: impl FnMut(&str) -> Option<OsString>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let mut get = |name: &str| -> Result<Option<(String, String)>, ConfigError> {
            let variable = format!("{prefix}{name}");
            match lookup(&variable) {
                None => Ok(None),
                Some(raw) => match raw.into_string() {
                    Ok(value) => Ok(Some((variable, value))),
                    Err(raw) => Err(ConfigError {
                        variable,
                        value: raw.to_string_lossy().into_owned(),
                        problem: Problem::NotUnicode,
                    }),
                },
            }
        };
        if let Some((variable, value)) = get(POOL_SIZE)? {
            let n = parse_count(&value).map_err(|p| ConfigError::new(&variable, &value, p))?;
            let n = NonZeroUsize::new(n)
                .ok_or_else(|| ConfigError::new(&variable, &value, Problem::Zero))?;
            config.pool_size = Some(n);
        }
        if let Some((variable, value)) = get(QUEUE_SIZE)? {
            let n = parse_count(&value).map_err(|p| ConfigError::new(&variable, &value, p))?;
            config.queue_size = Some(match NonZeroUsize::new(n) {
                None => QueueSize::Unbounded,
                Some(n) => QueueSize::Bounded(n),
            });
        }
        if let Some((variable, value)) = get(PRIORITY)? {
            let flag = parse_bool(&value).map_err(|p| ConfigError::new(&variable, &value, p))?;
            config.priority = Some(flag);
        }
        if let Some((variable, value)) = get(TASK_TIMEOUT)? {
            config.task_timeout = Some(parse_timeout(&variable, &value)?);
        }
        if let Some((variable, value)) = get(SHUTDOWN_TIMEOUT)? {
            config.shutdown_timeout = Some(parse_timeout(&variable, &value)?);
        }
        Ok(config)
    }
}

fn check_blank(value: &str) -> Result<(), Problem> {
    if value.is_empty() {
        Err(Problem::Empty)
    } else if value.trim() != value {
        Err(Problem::Whitespace)
    } else {
        Ok(())
    }
}

fn parse_count(value: &str) -> Result<usize, Problem> {
    check_blank(value)?;
    if value.starts_with('-') {
        return Err(Problem::Negative);
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::NotANumber);
    }
    value.parse::<usize>().map_err(|_| Problem::TooLarge)
}

fn parse_bool(value: &str) -> Result<bool, Problem> {
    check_blank(value)?;
    const TRUE: [&str; 4] = ["true", "1", "yes", "on"];
    const FALSE: [&str; 4] = ["false", "0", "no", "off"];
    if TRUE.iter().any(|t| value.eq_ignore_ascii_case(t)) {
        Ok(true)
    } else if FALSE.iter().any(|f| value.eq_ignore_ascii_case(f)) {
        Ok(false)
    } else {
        Err(Problem::NotABool)
    }
}

fn parse_timeout(variable: &str, value: &str) -> Result<Timeout, ConfigError> {
    check_blank(value).map_err(|p| ConfigError::new(variable, value, p))?;
    match parse_duration(value) {
        Ok(Duration::ZERO) => Ok(Timeout::Unlimited),
        Ok(d) => Ok(Timeout::After(d)),
        Err(e) => Err(ConfigError::new(variable, value, Problem::Duration(e))),
    }
}

/// A variable whose value could not be used: names the variable (prefix
/// included) and the value.
///
/// # Examples
///
/// ```
/// use gosling::config::Config;
///
/// let err = Config::from_vars([("WORKER_TASK_TIMEOUT", "1h30")]).unwrap_err();
/// assert_eq!(err.variable(), "WORKER_TASK_TIMEOUT");
/// assert_eq!(err.value(), "1h30");
/// assert_eq!(
///     err.to_string(),
///     "invalid WORKER_TASK_TIMEOUT=\"1h30\": number without a unit at byte 2 (units: ns, us, ms, s, m, h, d)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    variable: String,
    value: String,
    problem: Problem,
}

/// What was wrong with a value (private so new kinds are not breaking).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    Empty,
    Whitespace,
    Negative,
    NotANumber,
    TooLarge,
    Zero,
    NotABool,
    NotUnicode,
    Duration(ParseDurationError),
}

impl ConfigError {
    fn new(variable: &str, value: &str, problem: Problem) -> ConfigError {
        ConfigError {
            variable: variable.to_owned(),
            value: value.to_owned(),
            problem,
        }
    }

    /// The variable's full name, prefix included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    /// let err = Config::from_vars_prefixed("A_", [("A_WORKER_PRIORITY", "maybe")]).unwrap_err();
    /// assert_eq!(err.variable(), "A_WORKER_PRIORITY");
    /// ```
    #[must_use]
    pub fn variable(&self) -> &str {
        &self.variable
    }

    /// The rejected value (lossily converted when it was not Unicode).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::Config;
    /// let err = Config::from_vars([("WORKER_QUEUE_SIZE", "lots")]).unwrap_err();
    /// assert_eq!(err.value(), "lots");
    /// ```
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The duration error, when the value was a malformed duration.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::config::{Config, ParseDurationError};
    /// let err = Config::from_vars([("WORKER_TASK_TIMEOUT", "5 s")]).unwrap_err();
    /// assert!(matches!(err.duration_error(), Some(ParseDurationError::UnexpectedChar { .. })));
    /// ```
    #[must_use]
    pub fn duration_error(&self) -> Option<&ParseDurationError> {
        match &self.problem {
            Problem::Duration(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}={:?}: ", self.variable, self.value)?;
        match &self.problem {
            Problem::Empty => f.write_str("empty value"),
            Problem::Whitespace => f.write_str("leading or trailing whitespace"),
            Problem::Negative => f.write_str("negative numbers are not allowed"),
            Problem::NotANumber => f.write_str("expected a whole number"),
            Problem::TooLarge => write!(f, "number too large (at most {})", usize::MAX),
            Problem::Zero => f.write_str("must be at least 1"),
            Problem::NotABool => f.write_str("expected true/false, 1/0, yes/no or on/off"),
            Problem::NotUnicode => f.write_str("not valid Unicode"),
            Problem::Duration(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for ConfigError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.problem {
            Problem::Duration(e) => Some(e),
            _ => None,
        }
    }
}

/// Parses a duration written as one or more `<whole number><unit>` groups:
/// `250ms`, `30s`, `5m`, `1h30m`, `1d12h`. Units: `ns`, `us` (or `µs`),
/// `ms`, `s`, `m`, `h`, `d`. A bare `0` is zero; any other number needs a
/// unit. No signs, fractions or whitespace.
///
/// # Errors
///
/// [`ParseDurationError`] saying what is wrong and where (byte offsets).
///
/// # Examples
///
/// ```
/// use gosling::config::{parse_duration, ParseDurationError};
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
/// assert_eq!(parse_duration("1h30"), Err(ParseDurationError::MissingUnit { position: 2 }));
/// assert_eq!(
///     parse_duration("5x"),
///     Err(ParseDurationError::UnknownUnit { unit: "x".into(), position: 1 })
/// );
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseDurationError> {
    if text.is_empty() {
        return Err(ParseDurationError::Empty);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let bytes = text.as_bytes();
    let mut total = Duration::ZERO;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            // Safe to slice: `start` is at a char boundary (we only ever
            // advance past ASCII digits and whole units).
            let found = text[start..].chars().next().unwrap_or('?');
            return Err(ParseDurationError::UnexpectedChar {
                found,
                position: start,
            });
        }
        let number: u64 = text[start..i]
            .parse()
            .map_err(|_| ParseDurationError::Overflow)?;
        let unit_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        // `i` stops at an ASCII digit or the end: a char boundary.
        let unit = &text[unit_start..i];
        let nanos_per: u64 = match unit {
            "" => {
                return Err(ParseDurationError::MissingUnit { position: start });
            }
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            _ => {
                if let Some((offset, found)) = unit
                    .char_indices()
                    .find(|(_, c)| c.is_whitespace() || matches!(c, '-' | '+' | '.' | ','))
                {
                    return Err(ParseDurationError::UnexpectedChar {
                        found,
                        position: unit_start + offset,
                    });
                }
                return Err(ParseDurationError::UnknownUnit {
                    unit: unit.to_owned(),
                    position: unit_start,
                });
            }
        };
        let part = u128::from(number) * u128::from(nanos_per);
        let secs = u64::try_from(part / 1_000_000_000).map_err(|_| ParseDurationError::Overflow)?;
        // The remainder is below 10^9, so it fits a u32.
        let sub = (part % 1_000_000_000) as u32;
        total = total
            .checked_add(Duration::new(secs, sub))
            .ok_or(ParseDurationError::Overflow)?;
    }
    Ok(total)
}

/// Why [`parse_duration`] rejected its input; positions are byte offsets.
///
/// # Examples
///
/// ```
/// use gosling::config::{parse_duration, ParseDurationError};
///
/// assert_eq!(parse_duration(""), Err(ParseDurationError::Empty));
/// assert_eq!(
///     parse_duration("-5s"),
///     Err(ParseDurationError::UnexpectedChar { found: '-', position: 0 })
/// );
/// assert_eq!(parse_duration("99999999999999999999s"), Err(ParseDurationError::Overflow));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseDurationError {
    /// The text was empty.
    Empty,
    /// A character that cannot start a number or belong to a unit (a sign,
    /// a decimal point, whitespace, a letter where a number was expected).
    UnexpectedChar {
        /// The character.
        found: char,
        /// Its byte offset.
        position: usize,
    },
    /// A number with no unit after it (only a bare `0` may omit it).
    MissingUnit {
        /// Byte offset of the number.
        position: usize,
    },
    /// A unit that is not one of `ns us µs ms s m h d`.
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// Its byte offset.
        position: usize,
    },
    /// The duration does not fit a [`Duration`].
    Overflow,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseDurationError::Empty => f.write_str("empty duration"),
            ParseDurationError::UnexpectedChar { found, position } => {
                write!(f, "unexpected {found:?} at byte {position}")
            }
            ParseDurationError::MissingUnit { position } => write!(
                f,
                "number without a unit at byte {position} (units: ns, us, ms, s, m, h, d)"
            ),
            ParseDurationError::UnknownUnit { unit, position } => write!(
                f,
                "unknown unit {unit:?} at byte {position} (units: ns, us, ms, s, m, h, d)"
            ),
            ParseDurationError::Overflow => f.write_str("duration too large"),
        }
    }
}

impl Error for ParseDurationError {}
