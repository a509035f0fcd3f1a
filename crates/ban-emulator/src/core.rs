//! The service's logic, without I/O: routing, checks, state and statistics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ban_proto::{
    query, ActionStatus, BanListRequest, BanListResponse, BanRequest, BannedAccount, Endpoint,
    Envelope, ErrorCode, UnbanRequest,
};
use ban_sign::{Claims, Clock, Signer, SystemClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{EmulatorConfig, FaultKind, GroupType, Paging};

/// What the server layer should do with a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Answer with this status and JSON body.
    Json(u16, Vec<u8>),
    /// Close the connection without answering.
    Drop,
    /// Wait, then answer.
    Delayed(Duration, Box<Reply>),
}

/// The emulator's clock: the system's plus an offset that tests advance.
#[derive(Debug, Default)]
pub(crate) struct EmuClock {
    offset: AtomicU64,
}

impl EmuClock {
    pub(crate) fn advance(&self, secs: u64) -> u64 {
        self.offset.fetch_add(secs, Ordering::SeqCst);
        self.now_unix()
    }
}

impl Clock for EmuClock {
    fn now_unix(&self) -> u64 {
        SystemClock.now_unix() + self.offset.load(Ordering::SeqCst)
    }
}

/// One message delivered to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxMessage {
    /// The group's message sequence number.
    #[serde(rename = "MsgSeq")]
    pub seq: u64,
    /// The sender.
    #[serde(rename = "From_Account")]
    pub from: String,
    /// The text.
    #[serde(rename = "Text")]
    pub text: String,
    /// When it was sent (emulator clock).
    #[serde(rename = "MsgTime")]
    pub time: u64,
}

/// The most messages an inbox keeps (oldest dropped), so memory stays flat.
const INBOX_CAP: usize = 1000;

#[derive(Debug)]
struct Group {
    kind: GroupType,
    name: String,
    members: HashSet<String>,
    bans: HashMap<String, u64>,
    inbox: HashMap<String, Vec<InboxMessage>>,
    next_seq: u64,
}

impl Group {
    fn new(kind: GroupType, name: String) -> Self {
        Group {
            kind,
            name,
            members: HashSet::new(),
            bans: HashMap::new(),
            inbox: HashMap::new(),
            next_seq: 1,
        }
    }

    fn banned_until(&self, member: &str, now: u64) -> Option<u64> {
        self.bans.get(member).copied().filter(|&until| until > now)
    }

    fn active_bans(&self, now: u64) -> Vec<BannedAccount> {
        let mut list: Vec<BannedAccount> = self
            .bans
            .iter()
            .filter(|(_, &until)| until > now)
            .map(|(m, &until)| BannedAccount {
                member_account: m.clone(),
                banned_until: until,
            })
            .collect();
        list.sort_by(|a, b| {
            (a.banned_until, &a.member_account).cmp(&(b.banned_until, &b.member_account))
        });
        list
    }
}

/// A snapshot of one group, for tests and the control surface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group ID.
    #[serde(rename = "GroupId")]
    pub group_id: String,
    /// Its type.
    #[serde(rename = "Type")]
    pub kind: GroupType,
    /// Its name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Current members, sorted.
    #[serde(rename = "Members")]
    pub members: Vec<String>,
    /// Bans in force, ordered by end time.
    #[serde(rename = "Banned")]
    pub banned: Vec<BannedAccount>,
}

/// Why a member could not join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The member is banned until the given time.
    #[error("{member} is banned from {group} until {until}")]
    Banned {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// When the ban ends (Unix seconds, emulator clock).
        until: u64,
    },
    /// No such group.
    #[error("group {0} does not exist")]
    NoSuchGroup(String),
}

/// Per-command counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStats {
    /// Calls answered with `ErrorCode` 0.
    pub accepted: u64,
    /// Calls answered with any other code.
    pub rejected: u64,
    /// Rejections by error code.
    pub by_code: BTreeMap<i64, u64>,
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Stats {
    /// Every request to a `/v4/` path.
    pub total_calls: u64,
    /// Counts per command (unknown commands under their own name).
    pub commands: BTreeMap<String, CommandStats>,
    /// Calls refused with 60007 by the rate limit, over all commands.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults: FaultStats,
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

struct State {
    groups: HashMap<String, Group>,
    next_group: u64,
}

/// Verified sigs, so the hot path does not inflate and HMAC each call.
const SIG_CACHE_CAP: usize = 4096;

pub(crate) struct Core {
    pub(crate) config: EmulatorConfig,
    signer: Signer,
    pub(crate) clock: EmuClock,
    state: Mutex<State>,
    stats: Mutex<Stats>,
    limiters: HashMap<&'static str, DefaultDirectRateLimiter>,
    fault_rng: Mutex<fastrand::Rng>,
    sig_cache: Mutex<HashMap<Arc<str>, Claims>>,
    /// The body a `ServiceError` fault answers, made once.
    service_error: Vec<u8>,
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
}

impl Answer {
    fn err(code: ErrorCode, info: impl Into<String>) -> Self {
        Answer {
            code,
            body: to_json(&envelope(code, info)),
        }
    }
    fn ok<T: Serialize>(body: &T) -> Self {
        Answer {
            code: ErrorCode::Success,
            body: to_json(body),
        }
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("emulator answers always serialize")
}

/// Requests that name members.
trait Members<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a>;
}

impl<'a> Members<'a> for BanRequest<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a> {
        &self.members
    }
}

impl<'a> Members<'a> for UnbanRequest<'a> {
    fn members(&self) -> &ban_proto::MemberList<'a> {
        &self.members
    }
}

/// The body's shape, as the documentation describes it: a JSON object
/// (a positional array is refused), with every required field (10004), and
/// a `GroupId` that is a valid group ID when it is a string (10015).
fn check_shape(body: &Value, required: &[&str]) -> Result<(), Answer> {
    let Some(obj) = body.as_object() else {
        return Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!(
                "the body must be a JSON object with named fields; got {}",
                json_kind(body)
            ),
        ));
    };
    if let Some(missing) = required.iter().find(|f| !obj.contains_key(**f)) {
        return Err(Answer::err(
            ErrorCode::InvalidParameter,
            format!("{missing} is missing; it is required"),
        ));
    }
    if let Some(Value::String(g)) = obj.get("GroupId") {
        if let Err(e) = ban_proto::GroupId::new(g.as_str()) {
            return Err(Answer::err(ErrorCode::InvalidGroupId, e.to_string()));
        }
    }
    Ok(())
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A typed request body; a bad field answers 10004 naming it.
fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, Answer> {
    serde_json::from_value(body)
        .map_err(|e| Answer::err(ErrorCode::InvalidParameter, e.to_string()))
}

/// What a `ServiceError` fault answers: its code, and an `ErrorInfo`
/// padded to the configured size.
fn service_error_body(f: &crate::config::FaultConfig) -> Vec<u8> {
    let mut info = format!("injected fault: error {}", f.code);
    if info.len() < f.info_bytes {
        info.extend(std::iter::repeat_n('x', f.info_bytes - info.len()));
    }
    to_json(&Envelope::fail(ErrorCode::from_code(f.code), info))
}

fn control(status: u16, v: Value) -> Reply {
    Reply::Json(status, to_json(&v))
}

#[derive(Deserialize)]
struct MemberBody {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "Member_Account")]
    member: String,
}

#[derive(Deserialize)]
struct GroupBody {
    #[serde(rename = "GroupId")]
    group_id: String,
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: u64,
}

impl Core {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        let signer = Signer::new(config.sdkappid, config.secret_key.clone());
        let limiters = match config.rate_limit.and_then(NonZeroU32::new) {
            Some(rate) => Endpoint::ALL
                .iter()
                .map(|e| (e.path, RateLimiter::direct(Quota::per_second(rate))))
                .collect(),
            None => HashMap::new(),
        };
        let fault_rng = Mutex::new(fastrand::Rng::with_seed(config.faults.seed));
        let core = Core {
            signer,
            clock: EmuClock::default(),
            state: Mutex::new(State {
                groups: HashMap::new(),
                next_group: 1,
            }),
            stats: Mutex::new(Stats::default()),
            limiters,
            fault_rng,
            sig_cache: Mutex::new(HashMap::new()),
            service_error: service_error_body(&config.faults),
            config,
        };
        core.create_initial_groups();
        core
    }

    fn create_initial_groups(&self) {
        let mut st = lock(&self.state);
        for g in &self.config.groups {
            st.groups
                .insert(g.clone(), Group::new(GroupType::AVChatRoom, g.clone()));
        }
    }

    pub(crate) fn reset(&self) {
        lock(&self.state).groups.clear();
        self.create_initial_groups();
        *lock(&self.stats) = Stats::default();
        lock(&self.sig_cache).clear();
        *lock(&self.fault_rng) = fastrand::Rng::with_seed(self.config.faults.seed);
        self.clock.offset.store(0, Ordering::SeqCst);
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    // ---- state operations shared by the library API and the control surface

    pub(crate) fn create_group(
        &self,
        id: Option<&str>,
        kind: GroupType,
        name: &str,
    ) -> Result<String, (ErrorCode, String)> {
        let mut st = lock(&self.state);
        let id = match id {
            Some(id) => id.to_owned(),
            None => {
                let n = st.next_group;
                st.next_group += 1;
                format!("@TGS#a{n:09}")
            }
        };
        if st.groups.contains_key(&id) {
            return Err((
                ErrorCode::Other(10021),
                format!("GroupId {id} is already used"),
            ));
        }
        st.groups
            .insert(id.clone(), Group::new(kind, name.to_owned()));
        Ok(id)
    }

    /// Runs `f` on a group under the state lock.
    fn in_group<T>(
        &self,
        group: &str,
        f: impl FnOnce(&mut Group) -> Result<T, JoinError>,
    ) -> Result<T, JoinError> {
        let mut st = lock(&self.state);
        let g = st
            .groups
            .get_mut(group)
            .ok_or_else(|| JoinError::NoSuchGroup(group.to_owned()))?;
        f(g)
    }

    pub(crate) fn join(&self, group: &str, member: &str) -> Result<(), JoinError> {
        let now = self.clock.now_unix();
        self.in_group(group, |g| {
            if let Some(until) = g.banned_until(member, now) {
                return Err(JoinError::Banned {
                    group: group.to_owned(),
                    member: member.to_owned(),
                    until,
                });
            }
            g.members.insert(member.to_owned());
            Ok(())
        })
    }

    pub(crate) fn leave(&self, group: &str, member: &str) -> Result<bool, JoinError> {
        self.in_group(group, |g| Ok(g.members.remove(member)))
    }

    pub(crate) fn inbox(&self, group: &str, member: &str) -> Result<Vec<InboxMessage>, JoinError> {
        self.in_group(group, |g| {
            Ok(g.inbox.get(member).cloned().unwrap_or_default())
        })
    }

    pub(crate) fn send_group_msg(
        &self,
        group: &str,
        from: &str,
        text: &str,
    ) -> Result<(u64, usize), JoinError> {
        let now = self.clock.now_unix();
        self.in_group(group, |g| {
            let seq = g.next_seq;
            g.next_seq += 1;
            let msg = InboxMessage {
                seq,
                from: from.to_owned(),
                text: text.to_owned(),
                time: now,
            };
            let recipients: Vec<String> = g
                .members
                .iter()
                .filter(|m| g.bans.get(*m).is_none_or(|&until| until <= now))
                .cloned()
                .collect();
            for m in &recipients {
                let inbox = g.inbox.entry(m.clone()).or_default();
                if inbox.len() >= INBOX_CAP {
                    inbox.remove(0);
                }
                inbox.push(msg.clone());
            }
            Ok((seq, recipients.len()))
        })
    }

    pub(crate) fn group_state(&self, group: &str) -> Option<GroupState> {
        let now = self.clock.now_unix();
        let st = lock(&self.state);
        let g = st.groups.get(group)?;
        let mut members: Vec<String> = g.members.iter().cloned().collect();
        members.sort();
        Some(GroupState {
            group_id: group.to_owned(),
            kind: g.kind,
            name: g.name.clone(),
            members,
            banned: g.active_bans(now),
        })
    }

    // ---- HTTP entry point

    pub(crate) fn handle(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Reply {
        if let Some(rest) = path.strip_prefix("/emulator/v1/") {
            return self.handle_control(method, rest, body);
        }
        let Some(rest) = path.strip_prefix("/v4/") else {
            return control(
                404,
                json!({"error": format!("no such path {path}; the API is under /v4/ and the control surface under /emulator/v1/")}),
            );
        };
        let endpoint = Endpoint::by_path(path);
        let command = endpoint.map_or_else(
            || rest.rsplit('/').next().unwrap_or(rest).to_owned(),
            |e| e.command.to_owned(),
        );
        lock(&self.stats).total_calls += 1;

        if let Some(fault) = self.draw_fault() {
            return self.inject(fault, &command);
        }
        let answer = self.answer(method, rest, endpoint, query, body);
        self.count(&command, answer.code);
        Reply::Json(200, answer.body)
    }

    fn draw_fault(&self) -> Option<FaultKind> {
        let f = &self.config.faults;
        if f.rate <= 0.0 || f.kinds.is_empty() {
            return None;
        }
        let mut rng = lock(&self.fault_rng);
        let hit = rng.f64() < f.rate;
        let kind = f.kinds[rng.usize(..f.kinds.len())];
        hit.then_some(kind)
    }

    fn inject(&self, fault: FaultKind, command: &str) -> Reply {
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

    fn count(&self, command: &str, code: ErrorCode) {
        let mut stats = lock(&self.stats);
        if code == ErrorCode::RestRateLimited {
            stats.rate_limited += 1;
        }
        let entry = match stats.commands.get_mut(command) {
            Some(e) => e,
            None => stats.commands.entry(command.to_owned()).or_default(),
        };
        if code.is_success() {
            entry.accepted += 1;
        } else {
            entry.rejected += 1;
            *entry.by_code.entry(code.code()).or_default() += 1;
        }
    }

    fn answer(
        &self,
        method: &str,
        rest: &str,
        endpoint: Option<&'static Endpoint>,
        query: Option<&str>,
        body: &[u8],
    ) -> Answer {
        let Some(endpoint) = endpoint else {
            return match rest.split_once('/') {
                Some(("group_open_http_svc", cmd)) => Answer::err(
                    ErrorCode::InvalidCommand,
                    format!("invalid command word {cmd:?}"),
                ),
                _ => Answer::err(
                    ErrorCode::BadResourcePath,
                    format!("bad resource path /v4/{rest}"),
                ),
            };
        };
        if method != "POST" {
            return Answer::err(
                ErrorCode::UrlParseError,
                format!("HTTP method {method} is not allowed; the REST API takes POST"),
            );
        }
        // The signature first: a stranger's calls never spend the app's
        // budget (the documentation does not say; this is the safer model).
        let identifier = match self.check_query(query) {
            Ok(id) => id,
            Err(a) => return a,
        };
        if let Some(limiter) = self.limiters.get(endpoint.path) {
            if limiter.check().is_err() {
                let rate = self.config.rate_limit.unwrap_or_default();
                return Answer::err(
                    ErrorCode::RestRateLimited,
                    format!(
                        "{} called more than {rate} times per second",
                        endpoint.command
                    ),
                );
            }
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return Answer::err(
                ErrorCode::BodyJsonParseError,
                "request body is not valid JSON",
            );
        };
        let is_admin = identifier == self.config.admin;
        let now = self.clock.now_unix();
        match endpoint.command {
            "ban_group_member" | "unban_group_member" | "get_group_ban_member" => {
                if !is_admin {
                    return Answer::err(
                        ErrorCode::PermissionDenied,
                        format!("identifier {identifier} is not the app admin"),
                    );
                }
                if !self.config.ban_feature_enabled {
                    return Answer::err(
                        ErrorCode::PermissionDenied,
                        "audio-video group member banning is not enabled in the console",
                    );
                }
                match endpoint.command {
                    "ban_group_member" => self.ban(body, now),
                    "unban_group_member" => self.unban(body),
                    _ => self.list(body, now),
                }
            }
            _ if !is_admin => Answer::err(
                ErrorCode::AdminRequired,
                format!("identifier {identifier} is not the app admin"),
            ),
            "create_group" => self.rest_create_group(body),
            _ => self.rest_send_group_msg(body),
        }
    }

    /// Checks the query string and the UserSig; returns the identifier.
    fn check_query(&self, query: Option<&str>) -> Result<String, Answer> {
        let mut sdkappid = None;
        let mut identifier = None;
        let mut usersig = None;
        let mut random = None;
        let mut contenttype = None;
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                query::SDKAPPID => sdkappid = Some(v),
                query::IDENTIFIER => identifier = Some(v),
                query::USERSIG => usersig = Some(v),
                query::RANDOM => random = Some(v),
                query::CONTENTTYPE => contenttype = Some(v),
                _ => {}
            }
        }
        // Only documented codes: 60012 and 60006 for the SDKAppID, 60004 for
        // the account, 70002 for an empty UserSig, 60002 for the rest of the
        // URL (see docs/emulator.md for the choices the pages leave open).
        let bad_url = |info: String| Answer::err(ErrorCode::UrlParseError, info);
        let sdkappid = sdkappid.ok_or_else(|| {
            Answer::err(
                ErrorCode::SdkAppIdMissing,
                "sdkappid is missing from the URL",
            )
        })?;
        let sdkappid: u64 = sdkappid.parse().map_err(|_| {
            Answer::err(
                ErrorCode::InvalidSdkAppId,
                format!("sdkappid {sdkappid:?} is not a number"),
            )
        })?;
        if sdkappid != self.config.sdkappid {
            return Err(Answer::err(
                ErrorCode::SdkAppIdNotFound,
                format!("SDKAppID {sdkappid} does not exist"),
            ));
        }
        let identifier = identifier.filter(|i| !i.is_empty()).ok_or_else(|| {
            Answer::err(
                ErrorCode::AccountOrSigError,
                "identifier is missing from the URL",
            )
        })?;
        let usersig = usersig
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Answer::err(ErrorCode::UserSigEmpty, "usersig is missing or empty"))?;
        match contenttype.as_deref() {
            Some(query::CONTENTTYPE_JSON) => {}
            Some(other) => {
                return Err(bad_url(format!(
                    "contenttype {other:?} is not supported; it must be json"
                )))
            }
            None => return Err(bad_url("contenttype is missing from the URL".into())),
        }
        let random = random.ok_or_else(|| bad_url("random is missing from the URL".into()))?;
        random
            .parse::<u32>()
            .map_err(|_| bad_url(format!("random {random:?} is not a uint32")))?;
        self.verify_sig(&usersig, &identifier)
            .map_err(|e| Answer::err(e.error_code(), e.to_string()))?;
        Ok(identifier.into_owned())
    }

    fn verify_sig(&self, sig: &str, identifier: &str) -> Result<(), ban_sign::VerifyError> {
        let now = self.clock.now_unix();
        {
            let cache = lock(&self.sig_cache);
            if let Some(c) = cache.get(sig) {
                if c.identifier == identifier
                    && c.sdkappid == self.config.sdkappid
                    && now <= c.expires_at()
                {
                    return Ok(());
                }
            }
        }
        let claims = self.signer.verify(sig, identifier, now)?;
        let mut cache = lock(&self.sig_cache);
        if cache.len() >= SIG_CACHE_CAP {
            cache.clear();
        }
        cache.insert(Arc::from(sig), claims);
        Ok(())
    }

    /// Decodes a request that names members, checking in the service's
    /// order: the body's shape and required fields (10004), a malformed
    /// group ID (10015), more than 20 members (10005), an account that is
    /// not a string (60015), any other invalid field (10004), and with
    /// `strict_accounts` an account outside `[A-Za-z0-9_-]` (10004).
    fn member_request<T: serde::de::DeserializeOwned + Members<'static>>(
        &self,
        body: Value,
    ) -> Result<T, Answer> {
        check_shape(&body, &["GroupId", "Members_Account"])?;
        if let Some(list) = body.get("Members_Account").and_then(Value::as_array) {
            if list.len() > ban_proto::MemberList::MAX {
                return Err(Answer::err(
                    ErrorCode::TooManyMembers,
                    format!(
                        "Members_Account has {} accounts; at most 20 per call",
                        list.len()
                    ),
                ));
            }
            if let Some((i, v)) = list.iter().enumerate().find(|(_, v)| !v.is_string()) {
                return Err(Answer::err(
                    ErrorCode::AccountNotString,
                    format!("Members_Account[{i}] is {v}, not a string"),
                ));
            }
        }
        let req: T = decode(body)?;
        if self.config.strict_accounts {
            let strict = |m: &str| {
                m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            };
            if let Some((i, m)) = req.members().iter().enumerate().find(|(_, m)| !strict(m)) {
                return Err(Answer::err(
                    ErrorCode::InvalidParameter,
                    format!("Members_Account[{i}] {m:?} has characters outside [A-Za-z0-9_-]"),
                ));
            }
        }
        Ok(req)
    }

    fn with_group<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut Group) -> Result<T, Answer>,
    ) -> Result<T, Answer> {
        let avchatroom_only = self.config.avchatroom_only;
        let mut st = lock(&self.state);
        let g = st.groups.get_mut(id).ok_or_else(|| {
            Answer::err(
                ErrorCode::GroupNotFound,
                format!("group {id} does not exist or was dismissed"),
            )
        })?;
        if avchatroom_only && g.kind != GroupType::AVChatRoom {
            return Err(Answer::err(
                ErrorCode::PermissionDenied,
                format!(
                    "group {id} is a {} group; banning members is supported for AVChatRoom only",
                    g.kind
                ),
            ));
        }
        f(g)
    }

    fn ban(&self, body: Value, now: u64) -> Answer {
        let req = match self.member_request::<BanRequest>(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        if let Some(d) = &req.description {
            let text = d.as_str().to_ascii_lowercase();
            if let Some(w) = self
                .config
                .sensitive_words
                .iter()
                .find(|w| !w.is_empty() && text.contains(&w.to_ascii_lowercase()))
            {
                return Answer::err(
                    ErrorCode::SensitiveContent,
                    format!("Description holds a sensitive word ({:?})", w),
                );
            }
        }
        let until = now.saturating_add(req.duration.as_secs().into());
        let res = self.with_group(req.group_id.as_str(), |g| {
            for m in req.members.iter() {
                g.bans.insert(m.to_owned(), until);
                g.members.remove(m);
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    fn unban(&self, body: Value) -> Answer {
        let req = match self.member_request::<UnbanRequest>(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let res = self.with_group(req.group_id.as_str(), |g| {
            for m in req.members.iter() {
                g.bans.remove(m);
            }
            Ok(())
        });
        res.map_or_else(|a| a, |()| Answer::ok(&Envelope::ok()))
    }

    fn list(&self, body: Value, now: u64) -> Answer {
        if let Err(a) = check_shape(&body, &["GroupId", "Offset"]) {
            return a;
        }
        let req: BanListRequest = match decode(body) {
            Ok(r) => r,
            Err(a) => return a,
        };
        let paging = self.config.paging;
        let res = self.with_group(req.group_id.as_str(), |g| {
            let all = g.active_bans(now);
            let start = (req.offset.0 as usize).min(all.len());
            let end = (start + req.limit.get() as usize).min(all.len());
            let next = match paging {
                _ if end < all.len() => end as u64,
                Paging::Standard => 0,
                Paging::Sample => end as u64,
            };
            Ok(BanListResponse {
                action_status: ActionStatus::Ok,
                error_code: ErrorCode::Success,
                error_info: String::new(),
                banned: all[start..end].to_vec(),
                next_offset: next,
            })
        });
        res.map_or_else(|a| a, |r| Answer::ok(&r))
    }

    fn rest_create_group(&self, body: Value) -> Answer {
        let kind = match body.get("Type").and_then(Value::as_str) {
            None => {
                return Answer::err(
                    ErrorCode::InvalidParameter,
                    "Type is missing; expected AVChatRoom, Public, Work, Meeting or Community",
                )
            }
            Some(t) => match t.parse::<GroupType>() {
                Ok(k) => k,
                Err(e) => return Answer::err(ErrorCode::InvalidParameter, e),
            },
        };
        let id = match body.get("GroupId") {
            None => None,
            Some(v) => match v.as_str().map(ban_proto::GroupId::new) {
                Some(Ok(id)) => Some(id.as_str().to_owned()),
                Some(Err(e)) => return Answer::err(ErrorCode::InvalidParameter, e.to_string()),
                None => {
                    return Answer::err(ErrorCode::InvalidParameter, "GroupId must be a string")
                }
            },
        };
        let name = body.get("Name").and_then(Value::as_str).unwrap_or("");
        match self.create_group(id.as_deref(), kind, name) {
            Ok(id) => Answer::ok(
                &json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "GroupId": id}),
            ),
            Err((code, info)) => Answer::err(code, info),
        }
    }

    fn rest_send_group_msg(&self, body: Value) -> Answer {
        let Some(group) = body.get("GroupId").and_then(Value::as_str) else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "GroupId is missing or not a string",
            );
        };
        let text: Option<String> = body.get("MsgBody").and_then(Value::as_array).map(|elems| {
            elems
                .iter()
                .filter(|e| e.get("MsgType").and_then(Value::as_str) == Some("TIMTextElem"))
                .filter_map(|e| e.pointer("/MsgContent/Text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("")
        });
        let Some(text) = text else {
            return Answer::err(
                ErrorCode::InvalidParameter,
                "MsgBody is missing or not an array of message elements",
            );
        };
        let from = body
            .get("From_Account")
            .and_then(Value::as_str)
            .unwrap_or(&self.config.admin);
        match self.send_group_msg(group, from, &text) {
            Ok((seq, _)) => Answer::ok(&json!({
                "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
                "MsgSeq": seq, "MsgTime": self.clock.now_unix()
            })),
            Err(_) => Answer::err(
                ErrorCode::GroupNotFound,
                format!("group {group} does not exist or was dismissed"),
            ),
        }
    }

    // ---- control surface

    fn handle_control(&self, method: &str, rest: &str, body: &[u8]) -> Reply {
        let parse = |body: &[u8]| {
            serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { body })
        };
        let Ok(value) = parse(body) else {
            return control(400, json!({"error": "body is not valid JSON"}));
        };
        let bad = |e: serde_json::Error| control(400, json!({"error": e.to_string()}));
        let join_err = |e: JoinError| match e {
            JoinError::Banned { until, .. } => control(
                403,
                json!({"error": "banned", "banned_until": until, "message": e.to_string()}),
            ),
            JoinError::NoSuchGroup(_) => control(
                404,
                json!({"error": "no_such_group", "message": e.to_string()}),
            ),
        };
        match (method, rest) {
            ("GET", "stats") => Reply::Json(200, to_json(&self.stats())),
            ("POST", "reset") => {
                self.reset();
                control(200, json!({"reset": true}))
            }
            ("GET", "clock") => control(200, json!({"now": self.clock.now_unix()})),
            ("POST", "clock/advance") => match serde_json::from_value::<AdvanceBody>(value) {
                Ok(b) => control(200, json!({"now": self.clock.advance(b.seconds)})),
                Err(e) => bad(e),
            },
            ("POST", "join") => match serde_json::from_value::<MemberBody>(value) {
                Ok(b) => match self.join(&b.group_id, &b.member) {
                    Ok(()) => control(200, json!({"joined": true})),
                    Err(e) => join_err(e),
                },
                Err(e) => bad(e),
            },
            ("POST", "leave") => match serde_json::from_value::<MemberBody>(value) {
                Ok(b) => match self.leave(&b.group_id, &b.member) {
                    Ok(was) => control(200, json!({"left": was})),
                    Err(e) => join_err(e),
                },
                Err(e) => bad(e),
            },
            ("POST", "inbox") => match serde_json::from_value::<MemberBody>(value) {
                Ok(b) => match self.inbox(&b.group_id, &b.member) {
                    Ok(msgs) => control(200, json!({"messages": msgs})),
                    Err(e) => join_err(e),
                },
                Err(e) => bad(e),
            },
            ("POST", "group") => match serde_json::from_value::<GroupBody>(value) {
                Ok(b) => match self.group_state(&b.group_id) {
                    Some(s) => Reply::Json(200, to_json(&s)),
                    None => join_err(JoinError::NoSuchGroup(b.group_id)),
                },
                Err(e) => bad(e),
            },
            _ => control(
                404,
                json!({"error": format!("no control endpoint {method} /emulator/v1/{rest}")}),
            ),
        }
    }
}
