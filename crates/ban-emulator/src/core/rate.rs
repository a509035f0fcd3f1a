//! The per-command rate limit, judged strictly: at most N accepted calls in
//! *any* sliding second (a sliding log), the strictest reading of the
//! service's undocumented window. A token bucket with a burst of N would let
//! about 2N through in one second; this never lets N + 1.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ban_proto::Endpoint;

use super::lock;

const WINDOW: Duration = Duration::from_secs(1);

/// One command's log of accepted calls within the last second.
#[derive(Debug, Default)]
struct Log {
    times: VecDeque<Instant>,
    /// The most calls seen in one sliding second.
    busiest: usize,
    /// When the over-limit alarm (above 80%) last went for it.
    alarmed: Option<Instant>,
}

/// The judge of every command's rate.
#[derive(Debug)]
pub(crate) struct RateJudge {
    per_sec: usize,
    logs: Mutex<HashMap<&'static str, Log>>,
}

impl RateJudge {
    pub(crate) fn new(per_sec: u32) -> Self {
        RateJudge {
            per_sec: per_sec as usize,
            logs: Mutex::new(
                Endpoint::ALL
                    .iter()
                    .map(|e| (e.command, Log::default()))
                    .collect(),
            ),
        }
    }

    /// Whether a call of `command` now keeps every sliding second at or
    /// under the limit; records it when it does.
    pub(crate) fn admit(&self, command: &'static str, now: Instant) -> bool {
        let mut logs = lock(&self.logs);
        let log = logs.entry(command).or_default();
        while log
            .times
            .front()
            .is_some_and(|&t| now.duration_since(t) >= WINDOW)
        {
            log.times.pop_front();
        }
        if log.times.len() >= self.per_sec {
            return false;
        }
        log.times.push_back(now);
        log.busiest = log.busiest.max(log.times.len());
        true
    }

    /// Calls of `command` in the last second, when they are above 80% of
    /// the limit and the alarm has not gone for it within a second (the
    /// service's `Alert.RequestOverLimit`).
    pub(crate) fn alarm(&self, command: &'static str, now: Instant) -> Option<u64> {
        let mut logs = lock(&self.logs);
        let log = logs.get_mut(command)?;
        let calls = log.times.len();
        let over = calls * 5 > self.per_sec * 4;
        let quiet = log.alarmed.is_none_or(|t| now.duration_since(t) >= WINDOW);
        (over && quiet).then(|| {
            log.alarmed = Some(now);
            calls as u64
        })
    }

    /// The limit, per command.
    pub(crate) fn per_sec(&self) -> u64 {
        self.per_sec as u64
    }

    /// The most calls each command had in one sliding second.
    pub(crate) fn busiest(&self) -> Vec<(&'static str, u64)> {
        lock(&self.logs)
            .iter()
            .map(|(c, l)| (*c, l.busiest as u64))
            .collect()
    }

    pub(crate) fn reset(&self) {
        for log in lock(&self.logs).values_mut() {
            *log = Log::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_n_in_any_sliding_second() {
        let judge = RateJudge::new(3);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let c = "ban_group_member";
        assert!(judge.admit(c, at(0)));
        assert!(judge.admit(c, at(900)));
        assert!(judge.admit(c, at(950)));
        assert!(!judge.admit(c, at(999)), "4 in [0, 999]");
        assert!(judge.admit(c, at(1000)), "the call at 0 left the window");
        assert!(!judge.admit(c, at(1500)), "900, 950, 1000 are within 1 s");
        assert!(judge.admit("unban_group_member", at(1500)), "per command");
        assert_eq!(
            judge.busiest().into_iter().find(|(k, _)| *k == c),
            Some((c, 3))
        );
    }
}
