//! The one place API errors get their codes: `BAD_USER_INPUT` for invalid
//! arguments, `LIMIT_EXCEEDED` for limits, `INTERNAL` for storage failures
//! (logged, never shown in detail).
use async_graphql::{Error, ErrorExtensions};

pub fn bad_input(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", "BAD_USER_INPUT"))
}

pub fn limit_exceeded(message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", "LIMIT_EXCEEDED"))
}

/// A storage failure as the client sees it: logged here, opaque there.
pub fn internal(error: impl std::fmt::Display) -> Error {
    tracing::error!(%error, "query failed in the store");
    Error::new("the catalog database could not answer; retry later")
        .extend_with(|_, e| e.set("code", "INTERNAL"))
}
