//! gosling: task orchestration for synchronous Rust.
pub mod context;
mod pool;
mod queue;
mod sync;
mod task;
pub mod time;

pub use pool::{
    BuildError, Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT, Pool, ResizeError, Scope,
    ShutdownError, ShutdownReport, Stats, SubmitError, SubmitErrorKind,
};
pub use queue::{FullPolicy, QueueKind};
pub use task::{Task, TaskError, TaskHandle, TaskId, TaskPanic, TaskStatus};
