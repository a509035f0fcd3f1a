//! A Redis client error, kept as a source without making the client's
//! type part of this crate's API.

/// What Redis answered instead of a reply, or why it could not be asked:
/// the Redis client's error, kept as the source without making its type
/// part of this crate's API.
#[derive(Debug)]
pub struct RedisFailure(redis::RedisError);

impl RedisFailure {
    pub(crate) fn new(e: redis::RedisError) -> Self {
        RedisFailure(e)
    }

    /// The Redis client's error, for code inside this crate that speaks
    /// redis-rs's results.
    pub(crate) fn into_inner(self) -> redis::RedisError {
        self.0
    }
}

impl RedisFailure {
    /// The connection failed, was refused, or timed out (Redis down or
    /// unreachable), rather than Redis refusing the command.
    pub fn is_connection(&self) -> bool {
        self.0.is_io_error()
            || self.0.is_connection_dropped()
            || self.0.is_connection_refusal()
            || self.0.is_timeout()
    }
}

impl std::fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RedisFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
