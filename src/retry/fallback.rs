//! [`Fallback`]: replaces a failed or rejected call's error with a value
//! computed from it; in front of a [`CircuitBreaker`] (from
//! [`crate::breaker`]) it sees the breaker's [`CallError`].

use crate::breaker::{CallError, CircuitBreaker};
use std::fmt;

/// Turns a failure into a replacement value: `call` runs the operation and,
/// if it returns `Err(e)`, returns `replace(e)` instead.
///
/// Standalone, `replace` receives the operation's own error. In front of a
/// [`CircuitBreaker`] ([`Fallback::call_through`]) it receives a
/// [`CallError`], so it can tell a rejection (the operation never ran) from a
/// failure. The operation runs once at most; the replacement only when the
/// operation failed or was rejected.
///
/// # Examples
///
/// ```
/// use gosling::retry::Fallback;
///
/// let cached = Fallback::new(|_err: std::num::ParseIntError| 0);
/// assert_eq!(cached.call(|| "42".parse::<i32>()), 42);
/// assert_eq!(cached.call(|| "forty-two".parse::<i32>()), 0);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Fallback<F> {
    replace: F,
}

impl<F> fmt::Debug for Fallback<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback").finish_non_exhaustive()
    }
}

impl<F> Fallback<F> {
    /// A fallback that computes its replacement with `replace`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Fallback;
    ///
    /// let fallback = Fallback::new(|err: String| format!("default ({err})"));
    /// assert_eq!(fallback.call(|| Err("offline".to_string())), "default (offline)");
    /// ```
    pub fn new(replace: F) -> Fallback<F> {
        Fallback { replace }
    }

    /// Runs `op`; on `Err(e)` returns `replace(e)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Fallback;
    ///
    /// let fallback = Fallback::new(|code: u16| code as usize);
    /// assert_eq!(fallback.call(|| Ok::<usize, u16>(7)), 7);
    /// assert_eq!(fallback.call(|| Err::<usize, u16>(503)), 503);
    /// ```
    #[inline]
    pub fn call<T, E>(&self, op: impl FnOnce() -> Result<T, E>) -> T
    where
        F: Fn(E) -> T,
    {
        op().unwrap_or_else(&self.replace)
    }

    /// Runs `op` through `breaker`; when the breaker rejects the call or
    /// `op` fails, returns `replace` of the [`CallError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::breaker::{CallError, CircuitBreaker};
    /// use gosling::retry::Fallback;
    ///
    /// let breaker = CircuitBreaker::<&'static str>::builder().build()?;
    /// let fallback = Fallback::new(|err: CallError<&'static str>| match err {
    ///     CallError::Rejected(_) => "breaker open",
    ///     CallError::Failed(e) => e,
    /// });
    /// assert_eq!(fallback.call_through(&breaker, || Ok("fresh")), "fresh");
    /// breaker.force_open();
    /// assert_eq!(fallback.call_through(&breaker, || Ok("fresh")), "breaker open");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn call_through<T, E>(
        &self,
        breaker: &CircuitBreaker<E>,
        op: impl FnOnce() -> Result<T, E>,
    ) -> T
    where
        F: Fn(CallError<E>) -> T,
    {
        breaker.call(op).unwrap_or_else(&self.replace)
    }

    /// The replacement function.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::retry::Fallback;
    ///
    /// let fallback = Fallback::new(|e: i32| -e);
    /// assert_eq!((fallback.replacement())(5), -5);
    /// ```
    pub fn replacement(&self) -> &F {
        &self.replace
    }
}
