//! The URL's parameters and the UserSig.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ban_proto::{query, ErrorCode};
use ban_sign::{Claims, Clock};

use ban_sign::Signer;

use super::clock::EmuClock;
use super::{lock, Answer};

/// The auth part of the emulator: the app's SDKAppID and key, the sigs
/// verified already, and the control surface's token.
pub(crate) struct Auth {
    sdkappid: u64,
    signer: Signer,
    sig_cache: SigCache,
    clock: Arc<EmuClock>,
    /// What a control request must carry; `None` when the surface is open.
    control_token: Option<String>,
    /// Accounts kicked (`im_open_login_svc/kick`), with when: a UserSig
    /// issued at or before that second no longer works.
    kicked: Mutex<HashMap<String, u64>>,
}

impl Auth {
    pub(crate) fn new(
        sdkappid: u64,
        secret_key: ban_sign::SecretKey,
        clock: Arc<EmuClock>,
        control_token: Option<String>,
    ) -> Self {
        Auth {
            sdkappid,
            signer: Signer::new(sdkappid, secret_key),
            sig_cache: SigCache::default(),
            clock,
            control_token,
            kicked: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the sigs verified and the kicks.
    pub(crate) fn reset(&self) {
        self.sig_cache.clear();
        lock(&self.kicked).clear();
    }

    /// Kicks `account` now: every UserSig it holds stops working (those
    /// issued at or before this second); a fresh one logs in again.
    pub(crate) fn kick(&self, account: &str) {
        lock(&self.kicked).insert(account.to_owned(), self.clock.now_unix());
    }

    /// When `account` was last kicked, if it was and has not logged in
    /// since with a fresh UserSig.
    pub(crate) fn kicked_at(&self, account: &str) -> Option<u64> {
        lock(&self.kicked).get(account).copied()
    }

    /// A client logs in: `sig` must be a valid UserSig of `account`, issued
    /// after its last kick. A good login clears the kick.
    pub(crate) fn login(&self, account: &str, sig: &str) -> Result<(), Answer> {
        let issued = self
            .issued_at(sig, account)
            .map_err(|e| Answer::err(e.error_code(), e.to_string()))?;
        self.not_kicked(account, issued)?;
        lock(&self.kicked).remove(account);
        Ok(())
    }

    /// Refuses a UserSig issued at or before `account`'s last kick (70001,
    /// as an expired one).
    fn not_kicked(&self, account: &str, issued: u64) -> Result<(), Answer> {
        match self.kicked_at(account) {
            Some(at) if issued <= at => Err(Answer::err(
                ErrorCode::UserSigExpired,
                format!(
                    "the UserSig of {account} was issued at {issued} and {account} was kicked at {at}: it no longer works; issue a new one"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The control surface's token, when it needs one.
    pub(crate) fn control_token(&self) -> Option<&str> {
        self.control_token.as_deref()
    }

    /// Whether a control request with `bearer` may pass: its token is the
    /// surface's (compared in constant time), or the surface is open.
    pub(crate) fn allows_control(&self, bearer: Option<&str>) -> bool {
        match &self.control_token {
            None => true,
            Some(token) => {
                let given = bearer.unwrap_or("").as_bytes();
                bool::from(subtle::ConstantTimeEq::ct_eq(given, token.as_bytes()))
            }
        }
    }

    /// Checks the query string and the UserSig; returns the identifier.
    pub(super) fn check_query(&self, query: Option<&str>) -> Result<String, Answer> {
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
        if sdkappid != self.sdkappid {
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
        let issued = self
            .issued_at(&usersig, &identifier)
            .map_err(|e| Answer::err(e.error_code(), e.to_string()))?;
        self.not_kicked(&identifier, issued)?;
        Ok(identifier.into_owned())
    }

    /// When a valid `sig` of `identifier` was issued (from the cache, or
    /// verified and cached).
    fn issued_at(&self, sig: &str, identifier: &str) -> Result<u64, ban_sign::VerifyError> {
        let now = self.clock.now_unix();
        if let Some(time) = self.sig_cache.holds(sig, identifier, self.sdkappid, now) {
            return Ok(time);
        }
        let claims = self.signer.verify(sig, identifier, now)?;
        let time = claims.time;
        self.sig_cache.insert(sig, claims);
        Ok(time)
    }
}

/// Verified sigs, so the hot path does not inflate and HMAC each call.
const SIG_CACHE_CAP: usize = 4096;

/// Sigs verified already, with their claims (cleared when full).
#[derive(Default)]
pub(crate) struct SigCache(Mutex<HashMap<Arc<str>, Claims>>);

impl SigCache {
    /// Whether `sig` was verified for this identifier and app and is still valid.
    /// When it was issued, if so.
    fn holds(&self, sig: &str, identifier: &str, sdkappid: u64, now: u64) -> Option<u64> {
        lock(&self.0)
            .get(sig)
            .filter(|c| {
                c.identifier == identifier && c.sdkappid == sdkappid && now <= c.expires_at()
            })
            .map(|c| c.time)
    }

    fn insert(&self, sig: &str, claims: Claims) {
        let mut cache = lock(&self.0);
        if cache.len() >= SIG_CACHE_CAP {
            cache.clear();
        }
        cache.insert(Arc::from(sig), claims);
    }

    fn clear(&self) {
        lock(&self.0).clear();
    }
}
