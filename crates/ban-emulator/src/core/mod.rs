//! The service's logic, without I/O. [`Core`] is composed of parts, each
//! with its own lock and its own file: `groups` (every group's members,
//! bans, mutes and inboxes; the types in `state`), `auth` (the URL, the
//! UserSig, the control token), `faults` (seeded fault injection), `stats`
//! (the `Ledger` of what was seen), `rate` (the per-command limit) and
//! `clock` (the emulator's time). The handlers compose them, the way axum
//! keeps routing apart from handlers: `api` answers the REST commands,
//! `mute` the mute commands, `send` a message's way through the
//! before-send callback, `control` serves `/emulator/v1/`.

mod account;
mod api;
mod auth;
mod clock;
mod control;
mod faults;
mod groups;
mod mute;
mod rate;
mod room;
mod send;
mod state;
mod stats;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ban_proto::{Endpoint, Envelope, ErrorCode};
use serde::Serialize;
use serde_json::json;

use crate::config::{EmulatorConfig, GroupType};
use auth::Auth;
use faults::Faults;
use groups::Groups;
use rate::RateJudge;
use stats::Ledger;

pub(crate) use clock::EmuClock;
pub(crate) use state::Outgoing;
pub use state::{GroupState, InboxMessage, JoinError};
pub use stats::{CommandStats, FaultStats, Stats, UNKNOWN_COMMAND};

/// What the server layer should do with a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Answer with this status and JSON body.
    Json(u16, Vec<u8>),
    /// Close the connection without answering.
    Drop,
    /// Wait, then answer.
    Delayed(Duration, Box<Reply>),
    /// Ask the app's before-send callback, then finish the send.
    Send(Box<PendingSend>),
    /// Ask the app's before-join callback, then finish the application.
    Join(Box<PendingJoin>),
}

/// A client's application to join a group that takes applications,
/// waiting for the app's before-join verdict.
#[derive(Debug)]
pub(crate) struct PendingJoin {
    pub(crate) group: String,
    pub(crate) group_type: GroupType,
    pub(crate) member: String,
    pub(crate) origin: crate::callback::From,
}

impl PendingJoin {
    pub(crate) fn apply(&self) -> ban_callback::JoinApply {
        ban_callback::JoinApply::new(&self.group, self.group_type.as_str(), &self.member)
    }
}

/// A message waiting for the app's before-send verdict.
#[derive(Debug)]
pub(crate) struct PendingSend {
    pub(crate) group: String,
    pub(crate) group_type: GroupType,
    pub(crate) from: String,
    /// Who sent it: the admin for a REST send, the sender for a client's.
    pub(crate) operator: String,
    /// Where it came from: REST, or a client on its platform.
    pub(crate) origin: crate::callback::From,
    pub(crate) msg: state::Outgoing,
    pub(crate) random: u64,
    /// When it was sent (ms), the callbacks' `EventTime`.
    pub(crate) event_ms: u64,
    /// Sent over REST (counted in the statistics), or by a client through
    /// the control surface.
    pub(crate) rest: bool,
}

impl PendingSend {
    /// The message as the callbacks describe it.
    pub(crate) fn message(&self) -> ban_callback::GroupMessage {
        ban_callback::GroupMessage::text_message(
            &self.group,
            self.group_type.as_str(),
            &self.from,
            "",
            self.random,
            self.event_ms,
        )
        .with_body(self.msg.body.clone(), self.msg.cloud_custom_data.clone())
        .operated_by(&self.operator)
    }
}

/// Milliseconds since the epoch, for callbacks' `EventTime`.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The emulator's parts, shared by every connection.
pub(crate) struct Core {
    pub(crate) config: EmulatorConfig,
    pub(crate) clock: Arc<EmuClock>,
    pub(crate) groups: Groups,
    auth: Auth,
    faults: Faults,
    ledger: Ledger,
    rate: Option<RateJudge>,
    /// Who calls the app back, when it is to be called.
    pub(crate) callbacks: Option<Arc<crate::callback::Caller>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn envelope(code: ErrorCode, info: impl Into<String>) -> Envelope {
    if code.is_success() {
        Envelope::ok()
    } else {
        Envelope::fail(code, info)
    }
}

/// The outcome of one API call, before it is counted and encoded.
struct Answer {
    code: ErrorCode,
    body: Vec<u8>,
    /// A message to ask the app's before-send callback about first.
    pending: Option<Box<PendingSend>>,
}

impl Answer {
    fn err(code: ErrorCode, info: impl Into<String>) -> Self {
        Answer {
            code,
            body: to_json(&envelope(code, info)),
            pending: None,
        }
    }
    fn ok<T: Serialize>(body: &T) -> Self {
        Answer {
            code: ErrorCode::Success,
            body: to_json(body),
            pending: None,
        }
    }
    fn pending(send: PendingSend) -> Self {
        Answer {
            code: ErrorCode::Success,
            body: Vec::new(),
            pending: Some(Box::new(send)),
        }
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("emulator answers always serialize")
}

impl Core {
    pub(crate) fn new(
        config: EmulatorConfig,
        callbacks: Option<Arc<crate::callback::Caller>>,
    ) -> Self {
        let clock = Arc::new(EmuClock::default());
        Core {
            groups: Groups::new(
                clock.clone(),
                callbacks.clone(),
                config.group_msg_rate,
                config.groups.clone(),
                config.admin.clone(),
            ),
            auth: Auth::new(
                config.sdkappid,
                config.secret_key.clone(),
                clock.clone(),
                (!config.open_control).then(control_token),
            ),
            faults: Faults::new(config.faults.clone()),
            ledger: Ledger::default(),
            rate: config.rate_limit.filter(|&r| r > 0).map(RateJudge::new),
            clock,
            callbacks,
            config,
        }
    }

    pub(crate) fn reset(&self) {
        self.groups.reset();
        self.ledger.reset();
        self.auth.reset();
        if let Some(rate) = &self.rate {
            rate.reset();
        }
        self.faults.reset();
        self.clock.reset();
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut stats = self.ledger.snapshot();
        if let Some(c) = &self.callbacks {
            stats.callbacks = c.stats();
        }
        if let Some(rate) = &self.rate {
            for (command, busiest) in rate.busiest() {
                if busiest > 0 {
                    stats
                        .commands
                        .entry(command.to_owned())
                        .or_default()
                        .busiest_second = busiest;
                }
            }
        }
        stats
    }

    /// The control surface's token, when it needs one.
    pub(crate) fn control_token(&self) -> Option<&str> {
        self.auth.control_token()
    }

    /// Answers one request. `bearer` is the token of its `Authorization`
    /// header, if any.
    pub(crate) fn handle(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        bearer: Option<&str>,
        body: &[u8],
    ) -> Reply {
        if let Some(rest) = path.strip_prefix("/emulator/v1/") {
            if !self.auth.allows_control(bearer) {
                return control::control(
                    401,
                    json!({"error": "the control surface needs Authorization: Bearer <control_token> (see the ready file), or an emulator started with --open-control"}),
                );
            }
            return self.handle_control(method, rest, body);
        }
        let Some(rest) = path.strip_prefix("/v4/") else {
            return control::control(
                404,
                json!({"error": format!("no such path {path}; the API is under /v4/ and the control surface under /emulator/v1/")}),
            );
        };
        let endpoint = Endpoint::by_path(path);
        let command = endpoint.map_or(stats::UNKNOWN_COMMAND, |e| e.command);
        self.ledger.call();

        if let Some(fault) = self.faults.draw() {
            return self.faults.inject(fault, command, &self.ledger);
        }
        let answer = self.answer(method, rest, endpoint, query, body);
        if let Some(send) = answer.pending {
            // Counted once the verdict is in.
            return Reply::Send(send);
        }
        self.ledger.count(command, answer.code);
        let body = match endpoint {
            Some(e) if e.service == "openconfigsvr" => without_action_status(answer.body),
            _ => answer.body,
        };
        Reply::Json(200, body)
    }
}

/// An answer as the `openconfigsvr` commands give it: `ErrorCode` and
/// `ErrorInfo` (and their data), no `ActionStatus`.
fn without_action_status(body: Vec<u8>) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("ActionStatus");
            to_json(&map)
        }
        _ => body,
    }
}

/// A control-surface token: 128 bits from the operating system's
/// cryptographic RNG (through rustls's ring provider), as hex.
fn control_token() -> String {
    let mut bytes = [0u8; 16];
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut bytes).is_err() {
        // No OS randomness: a token nobody can guess is not to be had, so
        // none that someone could; the control surface stays shut.
        return String::from("\u{0}unavailable");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
