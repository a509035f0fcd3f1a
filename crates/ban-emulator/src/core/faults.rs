//! Fault injection, drawn from a seeded generator.

use ban_proto::{Envelope, ErrorCode};

use super::{lock, to_json, Core, Reply};
use crate::config::{FaultConfig, FaultKind};

/// What a `ServiceError` fault answers: its code, and an `ErrorInfo`
/// padded to the configured size.
pub(super) fn service_error_body(f: &FaultConfig) -> Vec<u8> {
    let mut info = format!("injected fault: error {}", f.code);
    if info.len() < f.info_bytes {
        info.extend(std::iter::repeat_n('x', f.info_bytes - info.len()));
    }
    to_json(&Envelope::fail(ErrorCode::from_code(f.code), info))
}

impl Core {
    pub(super) fn draw_fault(&self) -> Option<FaultKind> {
        let f = &self.config.faults;
        if f.rate <= 0.0 || f.kinds.is_empty() {
            return None;
        }
        let mut rng = lock(&self.fault_rng);
        let hit = rng.f64() < f.rate;
        let kind = f.kinds[rng.usize(..f.kinds.len())];
        hit.then_some(kind)
    }

    pub(super) fn inject(&self, fault: FaultKind, command: &'static str) -> Reply {
        let mut stats = lock(&self.stats);
        match fault {
            FaultKind::InternalError => {
                stats.faults.internal_error += 1;
                drop(stats);
                self.count(command, ErrorCode::InternalError);
                let body = to_json(&Envelope::fail(
                    ErrorCode::InternalError,
                    "internal server error (injected fault)",
                ));
                Reply::Json(200, body)
            }
            FaultKind::BadGateway => {
                stats.faults.bad_gateway += 1;
                Reply::Json(502, b"<html><body>502 Bad Gateway</body></html>".to_vec())
            }
            FaultKind::Drop => {
                stats.faults.dropped += 1;
                Reply::Drop
            }
            FaultKind::ServiceError => {
                stats.faults.service_error += 1;
                drop(stats);
                self.count(command, ErrorCode::from_code(self.config.faults.code));
                Reply::Json(200, self.service_error.clone())
            }
            FaultKind::Delay => {
                stats.faults.delayed += 1;
                let body = to_json(&Envelope::fail(
                    ErrorCode::ServiceTimeout,
                    "service timeout (injected delay)",
                ));
                Reply::Delayed(self.config.faults.delay, Box::new(Reply::Json(200, body)))
            }
        }
    }
}
