//! gosling: task orchestration for synchronous Rust.
//!
//! # Circuit breakers and fallbacks
//!
//! A [`retry::CircuitBreaker`] stops calling a dependency whose failure rate
//! over a sliding window reaches a threshold, rejects calls while open, then
//! admits a fixed number of trial calls; a [`retry::Fallback`] turns a
//! failure or a rejection into a replacement value.
//!
//! ```
//! use gosling::retry::{CallError, CircuitBreaker, Fallback};
//!
//! let breaker = CircuitBreaker::<&str>::builder().count_window(10).build().unwrap();
//! let fallback = Fallback::new(|_: CallError<&str>| "cached");
//! assert_eq!(fallback.call_through(&breaker, || Ok("fresh")), "fresh");
//! assert_eq!(fallback.call_through(&breaker, || Err("down")), "cached");
//! ```
pub mod context;
pub mod retry;
// Some primitives are used only by modules on other branches until they merge.
#[allow(dead_code)]
mod sync;
pub mod time;
