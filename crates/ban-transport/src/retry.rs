//! Retry policy: how many attempts, how long to wait, when to give up.

use std::time::Duration;

use ban_proto::RetryClass;

/// How a call is retried.
///
/// Transient failures (10002, 60008, 60014, 70169, 70500, HTTP 502/503/504,
/// connection errors, timeouts) wait a full-jitter exponential backoff:
/// a random time in `0..=min(max_backoff, base_backoff * 2^(attempt-1))`.
/// Throttled answers (60007, 60011, 60018, 60019, 10006) wait
/// `throttle_backoff` plus up to as much again of jitter. 70050 (too many
/// verification failures) waits the documented minute plus up to a second,
/// never less: with the default 30 s deadline it is not retried at all, and
/// the error carries the advice. 60020 (`later`) and caller errors are never
/// retried. No wait runs past the `deadline` of the whole call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The first backoff's ceiling.
    pub base_backoff: Duration,
    /// The largest backoff.
    pub max_backoff: Duration,
    /// The pause after a throttled answer.
    pub throttle_backoff: Duration,
    /// The whole call, retries and waits included, ends by this.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            throttle_backoff: Duration::from_millis(500),
            deadline: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Refuses settings that make no sense (no attempt, a zero deadline),
    /// with a message naming the field.
    pub fn check(&self) -> Result<(), ban_proto::SettingError> {
        if self.max_attempts == 0 {
            return Err(ban_proto::SettingError::new(
                "retry.max_attempts",
                0,
                "at least 1",
            ));
        }
        if self.deadline.is_zero() {
            return Err(ban_proto::SettingError::new(
                "retry.deadline",
                "0 s",
                "above 0",
            ));
        }
        Ok(())
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The first backoff's ceiling.
    pub fn base_backoff(mut self, d: Duration) -> Self {
        self.base_backoff = d;
        self
    }

    /// The largest backoff.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The pause after a throttled answer.
    pub fn throttle_backoff(mut self, d: Duration) -> Self {
        self.throttle_backoff = d;
        self
    }

    /// The whole call's deadline, retries and waits included.
    pub fn deadline(mut self, d: Duration) -> Self {
        self.deadline = d;
        self
    }

    /// No retries: one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` after a failure of `class`
    /// (`None` when it must not be retried). `unit` is a random number in
    /// `0.0..=1.0`.
    pub fn backoff(&self, class: RetryClass, attempt: u32, unit: f64) -> Option<Duration> {
        let unit = unit.clamp(0.0, 1.0);
        match class {
            RetryClass::Cooldown => {
                let min = Duration::from_secs(class.min_wait_secs().unwrap_or(60));
                Some(min + Duration::from_secs(1).mul_f64(unit))
            }
            RetryClass::Transient => {
                let exp = self
                    .base_backoff
                    .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20));
                Some(exp.min(self.max_backoff).mul_f64(unit))
            }
            RetryClass::Throttled => {
                Some(self.throttle_backoff + self.throttle_backoff.mul_f64(unit))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_grows_then_caps() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(RetryClass::Transient, 1, 1.0),
            Some(Duration::from_millis(50))
        );
        assert_eq!(
            p.backoff(RetryClass::Transient, 3, 1.0),
            Some(Duration::from_millis(200))
        );
        assert_eq!(
            p.backoff(RetryClass::Transient, 30, 1.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.backoff(RetryClass::Transient, 3, 0.0),
            Some(Duration::ZERO)
        );
        assert_eq!(
            p.backoff(RetryClass::Throttled, 1, 0.5),
            Some(Duration::from_millis(750))
        );
        assert_eq!(p.backoff(RetryClass::Never, 1, 0.5), None);
        assert_eq!(p.backoff(RetryClass::Later, 1, 0.5), None);
        assert_eq!(
            p.backoff(RetryClass::Cooldown, 1, 0.0),
            Some(Duration::from_secs(60))
        );
    }
}
