//! The fallback layer of a [`Policy`](super::Policy): [`Recover`], and
//! [`NoFallback`] for a policy without one.

#[cfg(doc)]
use super::Policy;
use super::PolicyError;
use crate::retry::Fallback;

/// The fallback layer of a [`Policy`]: what happens to a final error.
/// Implemented by [`NoFallback`] (the error is returned) and by
/// [`Fallback`] over `Fn(PolicyError<E>) -> T` (it is replaced); see
/// [`Policy::fallback`].
///
/// # Examples
///
/// ```
/// use gosling::policy::{NoFallback, PolicyError, Recover};
/// use gosling::retry::Fallback;
///
/// let err = || PolicyError::Failed { error: "x", attempts: 1 };
/// assert!(Recover::<u8, &str>::recover(&NoFallback, err()).is_err());
/// let zero = Fallback::new(|_: PolicyError<&str>| 0u8);
/// assert_eq!(zero.recover(err()), Ok(0));
/// ```
pub trait Recover<T, E> {
    /// The call's result given its final error.
    ///
    /// # Errors
    ///
    /// The error itself when this layer does not replace it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::{NoFallback, PolicyError, Recover};
    /// let err = PolicyError::Failed { error: (), attempts: 1 };
    /// assert_eq!(Recover::<(), ()>::recover(&NoFallback, err.clone()), Err(err));
    /// ```
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>>;

    /// Whether [`recover`](Recover::recover) ever replaces an error.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::policy::{NoFallback, Recover};
    /// assert!(!Recover::<(), ()>::replaces(&NoFallback));
    /// ```
    fn replaces(&self) -> bool {
        true
    }
}

/// The fallback layer of a [`Policy`] without a fallback: errors are
/// returned as they are.
///
/// # Examples
///
/// ```
/// use gosling::policy::{NoFallback, Policy};
/// let policy: Policy<(), NoFallback> = Policy::new();
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoFallback;

impl<T, E> Recover<T, E> for NoFallback {
    #[inline]
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>> {
        Err(error)
    }

    fn replaces(&self) -> bool {
        false
    }
}

impl<T, E, F> Recover<T, E> for Fallback<F>
where
    F: Fn(PolicyError<E>) -> T,
{
    #[inline]
    fn recover(&self, error: PolicyError<E>) -> Result<T, PolicyError<E>> {
        Ok((self.replacement())(error))
    }
}
