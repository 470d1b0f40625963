//! [`PolicyError`]: which layer of a [`Policy`](super::Policy) stopped a
//! call, after how many attempts.

#[cfg(doc)]
use super::Policy;
use crate::breaker::Rejected;
use crate::context::CancelReason;
use std::error::Error;
use std::fmt;

/// Why a [`Policy`] call produced no value: which layer stopped it, how many
/// attempts were made, and the operation's last error where it ran.
///
/// # Examples
///
/// ```
/// use gosling::context::Context;
/// use gosling::policy::{Policy, PolicyError};
///
/// let err = Policy::new().call(&Context::new(), |_| Err::<(), _>("refused")).unwrap_err();
/// assert_eq!(err.to_string(), "failed after 1 attempt: refused");
/// assert_eq!(err.into_inner(), Some("refused"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError<E> {
    /// The operation ran and failed, and the retry layer (if any) stopped:
    /// retries used up, the error not retryable, or the time limit reached.
    Failed {
        /// The operation's error on the last attempt.
        error: E,
        /// Attempts made.
        attempts: u32,
    },
    /// The circuit breaker did not admit the last attempt; it never ran.
    Rejected {
        /// Why the breaker refused.
        rejected: Rejected,
        /// Attempts made, the rejected one included.
        attempts: u32,
    },
    /// The bulkhead was full (and stayed full for its bounded wait); the
    /// last attempt never ran.
    BulkheadFull {
        /// Attempts made, the refused one included.
        attempts: u32,
    },
    /// The last attempt failed after its per-attempt timeout passed.
    TimedOut {
        /// The error the attempt returned after its deadline.
        last: Option<E>,
        /// Attempts made.
        attempts: u32,
    },
    /// The caller's context was cancelled or reached its deadline (or the
    /// policy's total timeout passed): during an attempt, a backoff wait or
    /// a bulkhead wait.
    Cancelled {
        /// Why the context was cancelled.
        reason: CancelReason,
        /// The operation's last error, if an attempt ran and failed.
        last: Option<E>,
        /// Attempts made.
        attempts: u32,
    },
}

impl<E> PolicyError<E> {
    /// The number of attempts made (rejected ones included).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::<()>::BulkheadFull { attempts: 2 }.attempts(), 2);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        match self {
            PolicyError::Failed { attempts, .. }
            | PolicyError::Rejected { attempts, .. }
            | PolicyError::BulkheadFull { attempts }
            | PolicyError::TimedOut { attempts, .. }
            | PolicyError::Cancelled { attempts, .. } => *attempts,
        }
    }

    /// The operation's last error, if the last attempt ran and failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::Failed { error: 5, attempts: 1 }.into_inner(), Some(5));
    /// assert_eq!(PolicyError::<i32>::BulkheadFull { attempts: 1 }.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            PolicyError::Failed { error, .. } => Some(error),
            PolicyError::TimedOut { last, .. } | PolicyError::Cancelled { last, .. } => last,
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => None,
        }
    }

    /// A reference to the operation's last error, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert_eq!(PolicyError::Failed { error: "x", attempts: 1 }.inner(), Some(&"x"));
    /// ```
    #[must_use]
    pub fn inner(&self) -> Option<&E> {
        match self {
            PolicyError::Failed { error, .. } => Some(error),
            PolicyError::TimedOut { last, .. } | PolicyError::Cancelled { last, .. } => {
                last.as_ref()
            }
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. } => None,
        }
    }

    /// True when the breaker or the bulkhead refused the last attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::Rejected;
    /// use gosling::policy::PolicyError;
    /// let err = PolicyError::<()>::Rejected { rejected: Rejected::ForcedOpen, attempts: 1 };
    /// assert!(err.is_rejected());
    /// ```
    #[must_use]
    pub fn is_rejected(&self) -> bool {
        matches!(
            self,
            PolicyError::Rejected { .. } | PolicyError::BulkheadFull { .. }
        )
    }

    /// True for a per-attempt timeout, and for a cancellation by a passed
    /// deadline (the caller's or the total timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::PolicyError;
    /// assert!(PolicyError::<()>::TimedOut { last: None, attempts: 1 }.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        match self {
            PolicyError::TimedOut { .. } => true,
            PolicyError::Cancelled { reason, .. } => *reason == CancelReason::DeadlineExceeded,
            _ => false,
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl<E: fmt::Display> fmt::Display for PolicyError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::Failed { error, attempts } if *attempts > 1 => {
                write!(f, "gave up after {attempts} attempts: {error}")
            }
            PolicyError::Failed { error, attempts } => {
                write!(
                    f,
                    "failed after {attempts} attempt{}: {error}",
                    plural(*attempts)
                )
            }
            PolicyError::Rejected { rejected, attempts } => {
                write!(f, "{rejected} (attempt {attempts})")
            }
            PolicyError::BulkheadFull { attempts } => {
                write!(f, "bulkhead full (attempt {attempts})")
            }
            PolicyError::TimedOut { last, attempts } => {
                write!(f, "attempt {attempts} timed out")?;
                match last {
                    Some(last) => write!(f, ": {last}"),
                    None => Ok(()),
                }
            }
            PolicyError::Cancelled {
                reason,
                last,
                attempts,
            } => {
                write!(
                    f,
                    "context {reason} after {attempts} attempt{}",
                    plural(*attempts)
                )?;
                match last {
                    Some(last) => write!(f, ": {last}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl<E: Error + 'static> Error for PolicyError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PolicyError::Rejected { rejected, .. } => Some(rejected),
            other => other.inner().map(|e| e as &(dyn Error + 'static)),
        }
    }
}
