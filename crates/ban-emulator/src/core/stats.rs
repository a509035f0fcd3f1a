//! What the emulator has seen.

use std::collections::BTreeMap;

use ban_proto::ErrorCode;
use serde::{Deserialize, Serialize};

use std::sync::Mutex;

use super::lock;
use crate::config::FaultKind;

/// Per-command counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CommandStats {
    /// Calls answered with `ErrorCode` 0.
    pub accepted: u64,
    /// Calls answered with any other code.
    pub rejected: u64,
    /// Rejections by error code.
    pub by_code: BTreeMap<i64, u64>,
    /// Calls refused with 60007 by the rate limit.
    #[serde(default)]
    pub rate_limited: u64,
    /// The most calls accepted within one sliding second.
    #[serde(default)]
    pub busiest_second: u64,
    /// When the first accepted call arrived (Unix milliseconds; 0 for none).
    #[serde(default)]
    pub first_accepted_ms: u64,
    /// When the last accepted call arrived (Unix milliseconds; 0 for none).
    #[serde(default)]
    pub last_accepted_ms: u64,
}

/// The one bucket every command the catalogue does not know is counted in,
/// so made-up names cannot grow the statistics without bound.
pub const UNKNOWN_COMMAND: &str = "(unknown)";

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultStats {
    /// Answered 10002.
    pub internal_error: u64,
    /// Answered HTTP 502.
    pub bad_gateway: u64,
    /// Connection closed without an answer.
    pub dropped: u64,
    /// Answer held past the client's timeout.
    pub delayed: u64,
    /// Answered with the configured service error.
    #[serde(default)]
    pub service_error: u64,
}

/// What the emulator has seen: `GET /emulator/v1/stats` returns this as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Every request to a `/v4/` path.
    pub total_calls: u64,
    /// Counts per command; every unknown command in [`UNKNOWN_COMMAND`].
    pub commands: BTreeMap<String, CommandStats>,
    /// Calls refused with 60007 by the rate limit, over all commands.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults: FaultStats,
    /// Callbacks to the app.
    #[serde(default)]
    pub callbacks: crate::CallbackStats,
}

impl Stats {
    /// Accepted calls of one command.
    pub fn accepted(&self, command: &str) -> u64 {
        self.commands.get(command).map_or(0, |c| c.accepted)
    }

    /// Calls of one command answered with `code`.
    pub fn count_of(&self, command: &str, code: ErrorCode) -> u64 {
        self.commands
            .get(command)
            .and_then(|c| c.by_code.get(&code.code()))
            .copied()
            .unwrap_or(0)
    }
}

/// The stats part of the emulator: what it has seen, counted under one
/// lock.
#[derive(Default)]
pub(crate) struct Ledger(Mutex<Stats>);

impl Ledger {
    /// A copy of the counts.
    pub(crate) fn snapshot(&self) -> Stats {
        lock(&self.0).clone()
    }

    /// Every count back to zero.
    pub(crate) fn reset(&self) {
        *lock(&self.0) = Stats::default();
    }

    /// Counts one call that reached the API, whatever it is answered.
    pub(crate) fn call(&self) {
        lock(&self.0).total_calls += 1;
    }

    /// Counts one fault injected.
    pub(crate) fn fault(&self, kind: FaultKind) {
        let mut stats = lock(&self.0);
        let f = &mut stats.faults;
        match kind {
            FaultKind::InternalError => f.internal_error += 1,
            FaultKind::BadGateway => f.bad_gateway += 1,
            FaultKind::Drop => f.dropped += 1,
            FaultKind::ServiceError => f.service_error += 1,
            FaultKind::Delay => f.delayed += 1,
        }
    }

    /// Counts one answer of `command` (a catalogue name or [`UNKNOWN_COMMAND`]).
    pub(crate) fn count(&self, command: &'static str, code: ErrorCode) {
        let mut stats = lock(&self.0);
        let entry = stats.commands.entry(command.to_owned()).or_default();
        if code == ErrorCode::RestRateLimited {
            entry.rate_limited += 1;
        }
        if code.is_success() {
            entry.accepted += 1;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            if entry.first_accepted_ms == 0 {
                entry.first_accepted_ms = now_ms;
            }
            entry.last_accepted_ms = now_ms;
        } else {
            entry.rejected += 1;
            *entry.by_code.entry(code.code()).or_default() += 1;
        }
        if code == ErrorCode::RestRateLimited {
            stats.rate_limited += 1;
        }
    }
}
