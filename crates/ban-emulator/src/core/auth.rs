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
        }
    }

    /// Forgets the sigs verified.
    pub(crate) fn reset(&self) {
        self.sig_cache.clear();
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
        self.verify_sig(&usersig, &identifier)
            .map_err(|e| Answer::err(e.error_code(), e.to_string()))?;
        Ok(identifier.into_owned())
    }

    fn verify_sig(&self, sig: &str, identifier: &str) -> Result<(), ban_sign::VerifyError> {
        let now = self.clock.now_unix();
        if self.sig_cache.holds(sig, identifier, self.sdkappid, now) {
            return Ok(());
        }
        let claims = self.signer.verify(sig, identifier, now)?;
        self.sig_cache.insert(sig, claims);
        Ok(())
    }
}

/// Verified sigs, so the hot path does not inflate and HMAC each call.
const SIG_CACHE_CAP: usize = 4096;

/// Sigs verified already, with their claims (cleared when full).
#[derive(Default)]
pub(crate) struct SigCache(Mutex<HashMap<Arc<str>, Claims>>);

impl SigCache {
    /// Whether `sig` was verified for this identifier and app and is still valid.
    fn holds(&self, sig: &str, identifier: &str, sdkappid: u64, now: u64) -> bool {
        lock(&self.0).get(sig).is_some_and(|c| {
            c.identifier == identifier && c.sdkappid == sdkappid && now <= c.expires_at()
        })
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
