//! Unit tests of the limiter's settings and redaction.

use super::*;
use ban_transport::RateLimit;

#[test]
fn passwords_stay_out_of_debug() {
    use crate::config::redact_url;
    assert_eq!(
        redact_url("rediss://user:hunter2@cache:6380/0"),
        "rediss://<redacted>@cache:6380/0"
    );
    assert_eq!(
        redact_url("redis://127.0.0.1:6379"),
        "redis://127.0.0.1:6379"
    );
    let c = FleetConfig::new("redis://:hunter2@h:1", 1);
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn bad_settings_and_urls_are_refused() {
    assert!(RedisLimiter::new(FleetConfig::new("http://x", 1)).is_err());
    let zero = FleetConfig::new("redis://127.0.0.1:1", 1).rate(RateLimit::per_second(0));
    assert!(RedisLimiter::new(zero).is_err());
    assert_eq!("closed".parse(), Ok(DownPolicy::Closed));
    assert!("sometimes".parse::<DownPolicy>().is_err());
}
