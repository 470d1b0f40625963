//! The errors of a group: what one member can fail with, what waiting for
//! the group returns, and the refusals of `set_limit` and `try_go`.

use std::error::Error;
use std::fmt;
use std::io;

/// How one member of a group failed.
///
/// # Examples
///
/// ```
/// use gosling::group::{self, MemberError};
///
/// let err = group::scope(|g| {
///     g.go(|_ctx| -> Result<(), String> { panic!("boom") });
/// })
/// .unwrap_err();
/// assert!(matches!(err.first(), MemberError::Panicked(msg) if msg == "boom"));
/// assert_eq!(err.first().to_string(), "member panicked: boom");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MemberError<E> {
    /// The member returned this error.
    Failed(E),
    /// The member panicked; this is the panic's message (or a placeholder when
    /// the payload was neither a `&str` nor a `String`).
    Panicked(String),
    /// The operating system refused to start a thread for the member, so it
    /// never ran.
    SpawnFailed(io::Error),
}

impl<E> MemberError<E> {
    /// The member's own error, if it returned one (not a panic or a spawn
    /// failure).
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::MemberError;
    /// assert_eq!(MemberError::Failed(7).into_failed(), Some(7));
    /// assert_eq!(MemberError::<i32>::Panicked("x".into()).into_failed(), None);
    /// ```
    pub fn into_failed(self) -> Option<E> {
        match self {
            MemberError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for MemberError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberError::Failed(e) => write!(f, "{e}"),
            MemberError::Panicked(msg) => write!(f, "member panicked: {msg}"),
            MemberError::SpawnFailed(e) => {
                write!(f, "could not start a thread for the member: {e}")
            }
        }
    }
}

impl<E: Error + 'static> Error for MemberError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            MemberError::Failed(e) => Some(e),
            MemberError::Panicked(_) => None,
            MemberError::SpawnFailed(e) => Some(e),
        }
    }
}

/// The cause a group's context is cancelled with when a member fails: read
/// it with [`Context::cause`](crate::context::Context::cause) and downcast
/// it to this type.
///
/// It holds text, not the member's error: the group keeps the error itself
/// and hands it back by value from waiting (in [`GroupError`]), while the
/// cause is shared by every clone and child of the context for as long as
/// they live. A returned error is written with its `Debug` (which, unlike
/// `Display`, every error type and `()` implement); a panic keeps its
/// message; a thread that could not be started, the operating system's
/// error text.
///
/// Only the failure that cancels the context becomes its cause: a context
/// already cancelled (by its parent, by a call to
/// [`cancel`](crate::context::Context::cancel), by an earlier failure) keeps
/// its first cause.
///
/// # Examples
///
/// ```
/// use gosling::group::{self, MemberFailure};
///
/// let err = group::scope(|g| {
///     g.go(|_| Err::<(), _>("disk full"));
///     g.go(|ctx| {
///         ctx.wait_cancelled_timeout(std::time::Duration::from_secs(60));
///         let cause = ctx.cause().unwrap();
///         let failure = cause.downcast_ref::<MemberFailure>().unwrap();
///         assert_eq!(failure, &MemberFailure::Failed("\"disk full\"".to_string()));
///         assert_eq!(cause.to_string(), "a group member failed: \"disk full\"");
///         Ok(())
///     });
/// })
/// .unwrap_err();
/// assert_eq!(err.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberFailure {
    /// A member returned an error; this is the error's `Debug` text.
    Failed(String),
    /// A member panicked; this is the panic's message, as in
    /// [`MemberError::Panicked`].
    Panicked(String),
    /// No thread could be started for a member; this is the operating
    /// system's error, written out.
    SpawnFailed(String),
}

impl MemberFailure {
    /// The text the failure carries, without the words around it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::MemberFailure;
    /// assert_eq!(MemberFailure::Panicked("boom".into()).message(), "boom");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            MemberFailure::Failed(s)
            | MemberFailure::Panicked(s)
            | MemberFailure::SpawnFailed(s) => s,
        }
    }
}

impl fmt::Display for MemberFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemberFailure::Failed(e) => write!(f, "a group member failed: {e}"),
            MemberFailure::Panicked(msg) => write!(f, "a group member panicked: {msg}"),
            MemberFailure::SpawnFailed(e) => {
                write!(f, "could not start a thread for a group member: {e}")
            }
        }
    }
}

impl Error for MemberFailure {}

/// What waiting for a group that had failures returns: every member error,
/// in the order they were recorded; the first is the one that cancelled the
/// group.
///
/// Never empty.
///
/// # Examples
///
/// ```
/// use gosling::group::{self, MemberError};
///
/// let err = group::scope(|g| {
///     g.go(|_| Err::<(), _>("one"));
///     g.go(|_| Err::<(), _>("two"));
/// })
/// .unwrap_err();
/// assert_eq!(err.len(), 2);
/// let mut all: Vec<_> = err.into_errors().into_iter().filter_map(MemberError::into_failed).collect();
/// all.sort();
/// assert_eq!(all, ["one", "two"]);
/// ```
#[derive(Debug)]
pub struct GroupError<E> {
    /// Non-empty; `errors[0]` came first.
    errors: Vec<MemberError<E>>,
}

impl<E> GroupError<E> {
    /// `None` for an empty list (no failure).
    pub(crate) fn from_errors(errors: Vec<MemberError<E>>) -> Option<GroupError<E>> {
        if errors.is_empty() {
            None
        } else {
            Some(GroupError { errors })
        }
    }

    /// The first error: the one that cancelled the group's context.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::{self, MemberError};
    /// let err = group::scope(|g| g.go(|_| Err::<(), _>(42))).unwrap_err();
    /// assert!(matches!(err.first(), MemberError::Failed(42)));
    /// ```
    #[must_use]
    pub fn first(&self) -> &MemberError<E> {
        &self.errors[0]
    }

    /// Takes the first error, dropping the others.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gosling::group::scope(|g| g.go(|_| Err::<(), _>(42))).unwrap_err();
    /// assert_eq!(err.into_first().into_failed(), Some(42));
    /// ```
    #[must_use]
    pub fn into_first(self) -> MemberError<E> {
        let mut errors = self.errors;
        errors.swap_remove(0)
    }

    /// Every error, first one first.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gosling::group::scope(|g| g.go(|_| Err::<(), _>(42))).unwrap_err();
    /// assert_eq!(err.errors().len(), 1);
    /// ```
    #[must_use]
    pub fn errors(&self) -> &[MemberError<E>] {
        &self.errors
    }

    /// Takes every error, first one first.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gosling::group::scope(|g| g.go(|_| Err::<(), _>(42))).unwrap_err();
    /// assert_eq!(err.into_errors().len(), 1);
    /// ```
    #[must_use]
    pub fn into_errors(self) -> Vec<MemberError<E>> {
        self.errors
    }

    /// How many members failed (at least one).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gosling::group::scope(|g| g.go(|_| Err::<(), _>(42))).unwrap_err();
    /// assert_eq!(err.len(), 1);
    /// ```
    #[must_use]
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.errors.len()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.first())?;
        match self.errors.len() {
            1 => Ok(()),
            2 => f.write_str(" (and 1 more error)"),
            n => write!(f, " (and {} more errors)", n - 1),
        }
    }
}

impl<E: Error + 'static> Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.first())
    }
}

/// Why `set_limit` refused a limit.
///
/// # Examples
///
/// ```
/// use gosling::group::{Group, LimitError};
///
/// let mut g = Group::<()>::new();
/// assert_eq!(g.set_limit(0), Err(LimitError::Zero));
/// assert_eq!(g.set_limit(4), Ok(()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitError {
    /// A limit of zero would let no member ever run.
    Zero,
    /// Members are running; the limit may only change while none is.
    MembersActive {
        /// How many members were running.
        active: usize,
    },
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::Zero => f.write_str("a group limit must be at least 1"),
            LimitError::MembersActive { active } => write!(
                f,
                "cannot change the group limit while {active} member(s) are running"
            ),
        }
    }
}

impl Error for LimitError {}

/// Why `try_go` did not start a member; the member is handed back.
///
/// # Examples
///
/// ```
/// use gosling::group::{self, TryGoError};
///
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// group::scope(|g| {
///     g.set_limit(1).unwrap();
///     g.go(move |_| { rx.recv().ok(); Ok::<(), ()>(()) }); // holds the only slot
///     let refused = g.try_go(|_| Ok(())).unwrap_err();
///     assert!(matches!(refused, TryGoError::Full(_)));
///     tx.send(()).unwrap();
/// })
/// .unwrap();
/// ```
#[non_exhaustive]
pub enum TryGoError<F> {
    /// As many members as the limit allows are running.
    Full(F),
}

impl<F> TryGoError<F> {
    /// The member that was not started.
    ///
    /// # Examples
    ///
    /// ```
    /// use gosling::group::TryGoError;
    /// let err = TryGoError::Full(5);
    /// assert_eq!(err.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> F {
        match self {
            TryGoError::Full(f) => f,
        }
    }
}

impl<F> fmt::Debug for TryGoError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGoError::Full(_) => f.write_str("Full(..)"),
        }
    }
}

impl<F> fmt::Display for TryGoError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGoError::Full(_) => {
                f.write_str("the group is running as many members as its limit allows")
            }
        }
    }
}

impl<F> Error for TryGoError<F> {}
