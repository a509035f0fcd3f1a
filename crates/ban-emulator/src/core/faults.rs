//! Fault injection, drawn from a seeded generator.

use ban_proto::{Envelope, ErrorCode};

use std::sync::Mutex;

use super::stats::Ledger;
use super::{lock, to_json, Reply};
use crate::config::{FaultConfig, FaultKind};

/// What a `ServiceError` fault answers: its code, and an `ErrorInfo`
/// padded to the configured size.
fn service_error_body(f: &FaultConfig) -> Vec<u8> {
    let mut info = format!("injected fault: error {}", f.code);
    if info.len() < f.info_bytes {
        info.extend(std::iter::repeat_n('x', f.info_bytes - info.len()));
    }
    to_json(&Envelope::fail(ErrorCode::from_code(f.code), info))
}

/// The faults part of the emulator: which calls fail and how, drawn from
/// a seeded generator so a run can be repeated.
pub(crate) struct Faults {
    config: FaultConfig,
    rng: Mutex<fastrand::Rng>,
    /// The body a `ServiceError` fault answers, made once.
    service_error: Vec<u8>,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        Faults {
            rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            service_error: service_error_body(&config),
            config,
        }
    }

    /// Back to the start of the seeded sequence.
    pub(crate) fn reset(&self) {
        *lock(&self.rng) = fastrand::Rng::with_seed(self.config.seed);
    }

    /// Whether this call fails, and how.
    pub(crate) fn draw(&self) -> Option<FaultKind> {
        let f = &self.config;
        if f.rate <= 0.0 || f.kinds.is_empty() {
            return None;
        }
        let mut rng = lock(&self.rng);
        let hit = rng.f64() < f.rate;
        let kind = f.kinds[rng.usize(..f.kinds.len())];
        hit.then_some(kind)
    }

    /// The reply of a call of `command` that fails with `fault`, counted.
    pub(crate) fn inject(&self, fault: FaultKind, command: &'static str, ledger: &Ledger) -> Reply {
        ledger.fault(fault);
        match fault {
            FaultKind::InternalError => {
                ledger.count(command, ErrorCode::InternalError);
                let body = to_json(&Envelope::fail(
                    ErrorCode::InternalError,
                    "internal server error (injected fault)",
                ));
                Reply::Json(200, body)
            }
            FaultKind::BadGateway => {
                Reply::Json(502, b"<html><body>502 Bad Gateway</body></html>".to_vec())
            }
            FaultKind::Drop => Reply::Drop,
            FaultKind::ServiceError => {
                ledger.count(command, ErrorCode::from_code(self.config.code));
                Reply::Json(200, self.service_error.clone())
            }
            FaultKind::Delay => {
                let body = to_json(&Envelope::fail(
                    ErrorCode::ServiceTimeout,
                    "service timeout (injected delay)",
                ));
                Reply::Delayed(self.config.delay, Box::new(Reply::Json(200, body)))
            }
        }
    }
}
