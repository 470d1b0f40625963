//! Why a call through a breaker did not give a value: [`Rejected`] (the
//! breaker did not admit it) and [`CallError`] (rejected, or it ran and
//! failed).

#[cfg(doc)]
use super::CircuitBreaker;
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Why a call was not admitted: returned by [`CircuitBreaker::try_acquire`],
/// inside [`CallError::Rejected`] from [`CircuitBreaker::call`].
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CircuitBreaker, Rejected};
///
/// let breaker = CircuitBreaker::<()>::builder().build()?;
/// breaker.force_open();
/// assert_eq!(breaker.try_acquire().unwrap_err(), Rejected::ForcedOpen);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// The breaker is open; trial calls start after `retry_after`.
    Open {
        /// The rest of the wait in open.
        retry_after: Duration,
    },
    /// The breaker was forced open.
    ForcedOpen,
    /// Half-open, and every trial permit is taken.
    HalfOpenFull,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Open { retry_after } => {
                write!(f, "circuit breaker is open; retry after {retry_after:?}")
            }
            Rejected::ForcedOpen => f.write_str("circuit breaker is forced open"),
            Rejected::HalfOpenFull => {
                f.write_str("circuit breaker is half-open and every trial permit is taken")
            }
        }
    }
}

impl Error for Rejected {}

/// The error of [`CircuitBreaker::call`]: the call was rejected, or it ran
/// and failed.
///
/// # Examples
///
/// ```
/// use gosling::breaker::{CallError, CircuitBreaker};
///
/// let breaker = CircuitBreaker::<&str>::builder().build()?;
/// let err = breaker.call(|| Err::<(), _>("down")).unwrap_err();
/// assert_eq!(err, CallError::Failed("down"));
/// assert_eq!(err.into_inner(), Some("down"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError<E> {
    /// The breaker did not admit the call; the operation never ran.
    Rejected(Rejected),
    /// The operation ran and returned this error.
    Failed(E),
}

impl<E> CallError<E> {
    /// The operation's own error, if it ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CallError, Rejected};
    ///
    /// assert_eq!(CallError::<u8>::Rejected(Rejected::ForcedOpen).into_inner(), None);
    /// assert_eq!(CallError::Failed(7u8).into_inner(), Some(7));
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Failed(e) => Some(e),
            CallError::Rejected(_) => None,
        }
    }

    /// True when the breaker rejected the call.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CallError, Rejected};
    ///
    /// assert!(CallError::<()>::Rejected(Rejected::HalfOpenFull).is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, CallError::Rejected(_))
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(r) => r.fmt(f),
            CallError::Failed(e) => write!(f, "call failed: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for CallError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Failed(e) => Some(e),
        }
    }
}
