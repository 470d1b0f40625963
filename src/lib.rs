//! gosling: task orchestration for synchronous Rust.
pub mod context;
mod sync;
pub mod time;
