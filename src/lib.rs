//! gosling: task orchestration for synchronous Rust.
pub mod context;
pub mod group;
// Some primitives await their first user (the pool); without this the
// skeleton alone fails `clippy -D warnings`.
#[allow(dead_code)]
mod sync;
pub mod time;
