//! Every error code of the service contract, with its meaning and retry class.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a caller should do about an error: the documentation's advice, as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryClass {
    /// A passing fault: retry with backoff.
    Transient,
    /// The service asks the caller to slow down: pause longer, then retry.
    Throttled,
    /// Retry after one minute, never sooner (70050: too many verification
    /// failures).
    Cooldown,
    /// May clear after about five minutes (60020: edition or service being
    /// set up): report it, do not retry now.
    Later,
    /// A caller error (or success): retrying the same request cannot help.
    Never,
}

impl RetryClass {
    /// Whether a request that failed this way may be sent again by the
    /// client on its own (`Later` is for a person or a scheduler to retry).
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            RetryClass::Transient | RetryClass::Throttled | RetryClass::Cooldown
        )
    }

    /// The least wait before a retry, where the documentation names one.
    pub const fn min_wait_secs(self) -> Option<u64> {
        match self {
            RetryClass::Cooldown => Some(60),
            RetryClass::Later => Some(300),
            _ => None,
        }
    }

    /// The documentation's advice, where it gives one.
    pub const fn advice(self) -> Option<&'static str> {
        match self {
            RetryClass::Cooldown => Some("retry after one minute, not sooner"),
            RetryClass::Later => Some("try again in about five minutes"),
            _ => None,
        }
    }

    /// The retry class of an HTTP status seen instead of a service answer
    /// (502, 503 and 504 are gateway faults and transient).
    pub const fn for_http_status(status: u16) -> RetryClass {
        match status {
            502..=504 => RetryClass::Transient,
            429 => RetryClass::Throttled,
            _ => RetryClass::Never,
        }
    }
}

impl fmt::Display for RetryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetryClass::Transient => "transient",
            RetryClass::Throttled => "throttled",
            RetryClass::Cooldown => "cooldown",
            RetryClass::Later => "later",
            RetryClass::Never => "never",
        })
    }
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $class:ident, $meaning:literal, $source:literal; )*) => {
        /// An `ErrorCode` of the service: every code the contract documents,
        /// and [`ErrorCode::Other`] for any code it does not.
        ///
        /// It serializes as the bare integer, as the service sends it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this crate does not know; its retry class is `Never`.
            Other(i64),
        }

        impl ErrorCode {
            /// Every known code, in ascending order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The integer the service sends.
            pub const fn code(self) -> i64 {
                match self {
                    $( ErrorCode::$variant => $code, )*
                    ErrorCode::Other(code) => code,
                }
            }

            /// The code for an integer; unknown integers become [`ErrorCode::Other`].
            pub const fn from_code(code: i64) -> ErrorCode {
                match code {
                    $( $code => ErrorCode::$variant, )*
                    other => ErrorCode::Other(other),
                }
            }

            /// A short meaning, from the service's documentation.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $meaning, )*
                    ErrorCode::Other(_) => "unknown error code",
                }
            }

            /// Where Tencent documents the code (page numbers of
            /// cloud.tencent.com/document/product/…, trtc.io/document/…, or
            /// the SDK's `TIMErrorCode` header); `"none found"` for a code
            /// this crate decodes but no Tencent source names.
            pub const fn documented_in(self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $source, )*
                    ErrorCode::Other(_) => "none found",
                }
            }

            /// What to do about it, as the documentation advises.
            pub const fn retry_class(self) -> RetryClass {
                match self {
                    $( ErrorCode::$variant => RetryClass::$class, )*
                    ErrorCode::Other(_) => RetryClass::Never,
                }
            }
        }
    };
}

error_codes! {
    /// 0: the request succeeded.
    Success = 0, Never, "success", "seed; 269/79249";
    /// 10002: internal server error; retry.
    InternalError = 10002, Transient, "internal server error; try again", "seed; 269/79249";
    /// 10003: invalid command word.
    InvalidCommand = 10003, Never, "invalid command word", "seed; 269/79249";
    /// 10004: invalid parameter; ErrorInfo says which.
    InvalidParameter = 10004, Never, "invalid parameter; see ErrorInfo", "seed; 269/79249";
    /// 10005: too many accounts in one request (20 for bans, 500 for mutes).
    TooManyMembers = 10005, Never, "too many accounts in one request (20 for bans, 500 for mutes)", "seed; 269/79249; 2026-check";
    /// 10006: group operation frequency limit.
    GroupFrequencyLimit = 10006, Throttled, "operation frequency limit", "269/1671";
    /// 10007: insufficient permission: the feature switch is off, the caller is
    /// not the app admin, or the group type is unsupported.
    PermissionDenied = 10007, Never, "insufficient permission (feature switch off, caller not app admin, or group type unsupported)", "seed; 269/79249";
    /// 10008: illegal request, possibly a bad signature.
    IllegalRequest = 10008, Never, "illegal request, possibly a bad signature", "TIMErrorCode";
    /// 10010: the group does not exist or was dismissed.
    GroupNotFound = 10010, Never, "group does not exist or was dismissed", "269/1671";
    /// 10011: request body JSON parse failed (group service).
    GroupBodyJsonParseError = 10011, Never, "request body JSON parse failed (group service)", "TIMErrorCode";
    /// 10012: the operator identifier is invalid.
    InvalidOperator = 10012, Never, "the operator identifier is invalid", "TIMErrorCode";
    /// 10015: invalid group ID.
    InvalidGroupId = 10015, Never, "group ID invalid or not found", "269/1671";
    /// 10016: the app's before-send callback refused the message.
    CallbackRefused = 10016, Never, "refused by the app's before-send callback", "2025-check";
    /// 10017: the sender is muted in the group.
    SenderMuted = 10017, Never, "the sender is muted in this group", "2025-check";
    /// 10018: the response would exceed 1 MB.
    ResponseTooLarge = 10018, Never, "response exceeds 1 MB", "269/1671";
    /// 10019: an account does not exist.
    AccountNotFound = 10019, Never, "account does not exist", "269/1671";
    /// 10023: the group's message rate was exceeded (a throttle).
    MessageRateLimited = 10023, Throttled, "the group's message rate was exceeded", "2026-check";
    /// 10026: this command is disabled for the SDKAppID.
    CommandDisabled = 10026, Never, "this command is disabled for the SDKAppID", "TIMErrorCode";
    /// 10059: the feature needs the Ultimate (or Enterprise) edition.
    EditionRequired = 10059, Never, "this feature needs the Ultimate (or Enterprise) edition", "2025-check";
    /// 60002: the URL could not be parsed.
    UrlParseError = 60002, Never, "URL parse error", "269/1519; 679/131708";
    /// 60003: the body is not valid JSON.
    BodyJsonParseError = 60003, Never, "request body JSON parse error", "269/1519; 679/131708";
    /// 60004: account or signature error in the URL or body.
    AccountOrSigError = 60004, Never, "account or signature error in URL or body", "269/1519; 679/131708";
    /// 60005: account or signature error in the URL or body.
    AccountOrSigErrorInBody = 60005, Never, "account or signature error in URL or body", "269/1519; 679/131708";
    /// 60006: invalid SDKAppID.
    InvalidSdkAppId = 60006, Never, "invalid SDKAppID", "269/1519; 679/131708";
    /// 60007: REST call frequency exceeded.
    RestRateLimited = 60007, Throttled, "REST API call frequency exceeded", "269/1519; 679/131708";
    /// 60008: service timeout or bad HTTP format; retry.
    ServiceTimeout = 60008, Transient, "service timeout or bad HTTP format; try again", "269/1519; 679/131708";
    /// 60009: bad resource path.
    BadResourcePath = 60009, Never, "bad resource path", "269/1519; 679/131708";
    /// 60010: the request needs the app admin.
    AdminRequired = 60010, Never, "app admin permission required", "269/1519; 679/131708";
    /// 60011: SDKAppID call frequency exceeded.
    SdkAppIdRateLimited = 60011, Throttled, "SDKAppID call frequency exceeded", "269/1519; 679/131708";
    /// 60012: the SDKAppID is missing.
    SdkAppIdMissing = 60012, Never, "SDKAppID missing from the URL", "269/1519; 679/131708";
    /// 60013: the response JSON could not be parsed.
    ResponseJsonParseError = 60013, Never, "response JSON parse error", "269/1519; 679/131708";
    /// 60014: account switching timed out; retry.
    AccountSwitchTimeout = 60014, Transient, "account switching timeout; try again", "269/1519; 679/131708";
    /// 60015: an account must be a string.
    AccountNotString = 60015, Never, "account must be a string", "269/1519; 679/131708";
    /// 60016: the SDKAppID is disabled.
    SdkAppIdDisabled = 60016, Never, "SDKAppID disabled", "269/1519; 679/131708";
    /// 60017: the request is disabled.
    RequestDisabled = 60017, Never, "request disabled", "269/1519; 679/131708";
    /// 60018: too many requests; retry later.
    TooManyRequests = 60018, Throttled, "too many requests; try again later", "269/1519; 679/131708";
    /// 60019: too many requests; retry later.
    TooManyRequestsLater = 60019, Throttled, "too many requests; try again later", "269/1519; 679/131708";
    /// 60020: the edition was not bought or the service is being set up;
    /// try again in about five minutes.
    EditionExpired = 60020, Later, "edition not bought or service being set up; try again in about five minutes", "269/1519; 679/131708";
    /// 60021: the request came from an illegal source IP.
    IllegalSourceIp = 60021, Never, "illegal source IP", "269/1519; 679/131708";
    /// 60025: bad SDKAppID, identifier, UserSig or contenttype in the URL.
    BadUrlParameter = 60025, Never, "bad SDKAppID, identifier, UserSig or contenttype in the URL", "none found";
    /// 60026: the domain and the SDKAppID are in different data centres.
    WrongDataCentre = 60026, Never, "domain and SDKAppID are in different data centres", "none found";
    /// 70001: the UserSig has expired.
    UserSigExpired = 70001, Never, "UserSig expired", "269/1671; trtc.io/34348";
    /// 70002: UserSig is empty.
    UserSigEmpty = 70002, Never, "UserSig is empty", "TIMErrorCode";
    /// 70003: the UserSig is invalid (malformed).
    UserSigInvalid = 70003, Never, "UserSig invalid", "269/1671; trtc.io/34348";
    /// 70005: UserSig check failed; verify it with a tool.
    UserSigCheckFailed = 70005, Never, "UserSig check failed; verify it with a tool", "TIMErrorCode";
    /// 70009: signature verification failed (wrong key).
    UserSigVerifyFailed = 70009, Never, "UserSig verification failed (wrong secret key)", "269/1671; trtc.io/34348";
    /// 70013: the identifier in the URL does not match the UserSig's.
    IdentifierMismatch = 70013, Never, "identifier does not match the UserSig", "269/1671; trtc.io/34348";
    /// 70014: the SDKAppID in the URL does not match the UserSig's.
    SdkAppIdMismatch = 70014, Never, "SDKAppID does not match the UserSig", "269/1671; trtc.io/34348";
    /// 70016: the secret key is missing.
    KeyMissing = 70016, Never, "secret key missing", "269/1671; trtc.io/34348";
    /// 70020: the SDKAppID does not exist.
    SdkAppIdNotFound = 70020, Never, "SDKAppID does not exist", "269/1671; trtc.io/34348";
    /// 70050: too many verification failures; retry after one minute, never sooner.
    VerifyRateLimited = 70050, Cooldown, "too many verification failures; retry after one minute", "269/1671; trtc.io/34348";
    /// 70051: account blacklisted.
    AccountBlacklisted = 70051, Never, "account blacklisted", "TIMErrorCode";
    /// 70052: UserSig no longer valid; generate a new one.
    UserSigNoLongerValid = 70052, Never, "UserSig no longer valid; generate a new one", "TIMErrorCode";
    /// 70107: the account was not imported.
    AccountNotImported = 70107, Never, "account not imported", "269/1671; trtc.io/34348";
    /// 70114: restricted for security reasons.
    SecurityRestricted = 70114, Never, "restricted for security reasons", "TIMErrorCode";
    /// 70169: internal timeout; retry.
    InternalTimeout = 70169, Transient, "internal timeout; try again", "269/1671; trtc.io/34348";
    /// 70202: internal timeout; retry later.
    InternalTimeout70202 = 70202, Transient, "internal timeout; try again later", "2025-check";
    /// 70206: invalid batch count.
    InvalidBatchCount = 70206, Never, "invalid batch count", "TIMErrorCode";
    /// 70402: invalid parameter (account service).
    AccountInvalidParameter = 70402, Never, "invalid parameter (account service)", "TIMErrorCode";
    /// 70403: app admin required (account service).
    AccountAdminRequired = 70403, Never, "app admin required (account service)", "TIMErrorCode";
    /// 70500: internal error; retry.
    InternalError70500 = 70500, Transient, "internal error; try again", "269/1671; trtc.io/34348";
    /// 80001: text security hit: sensitive words (e.g. in Description).
    SensitiveContent = 80001, Never, "text security hit: sensitive words (e.g. in Description)", "TIMErrorCode";
    /// 80002: request body too long (8 KB on the codes page, 12 KB on
    /// send_group_msg's).
    BodyTooLong = 80002, Never, "request body too long", "TIMErrorCode";
    /// 80003: the app's before-send callback failed or timed out, and the
    /// console says not to deliver then.
    CallbackFailed = 80003, Never, "the before-send callback failed or timed out; not delivered", "2025-check; 2026-check";
    /// 90992: internal error (often a misbehaving callback server); retry.
    InternalError90992 = 90992, Transient, "internal error (often a callback server misbehaving); try again", "2025-check";
}

impl ErrorCode {
    /// Whether this is the success code 0.
    pub const fn is_success(self) -> bool {
        self.code() == 0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}

impl From<i64> for ErrorCode {
    fn from(code: i64) -> Self {
        ErrorCode::from_code(code)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(ErrorCode::from_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_sorted_and_unique() {
        for pair in ErrorCode::ALL.windows(2) {
            assert!(
                pair[0].code() < pair[1].code(),
                "{:?} {:?}",
                pair[0],
                pair[1]
            );
        }
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), code);
            assert!(!matches!(code, ErrorCode::Other(_)));
        }
        assert_eq!(ErrorCode::from_code(12345), ErrorCode::Other(12345));
    }

    #[test]
    fn retry_classes_follow_the_contract() {
        let transient = [10002, 60008, 60014, 70169, 70202, 70500, 90992];
        let throttled = [60007, 60011, 60018, 60019, 10006, 10023];
        for &code in ErrorCode::ALL {
            let want = if transient.contains(&code.code()) {
                RetryClass::Transient
            } else if throttled.contains(&code.code()) {
                RetryClass::Throttled
            } else if code.code() == 70050 {
                RetryClass::Cooldown
            } else if code.code() == 60020 {
                RetryClass::Later
            } else {
                RetryClass::Never
            };
            assert_eq!(code.retry_class(), want, "{code}");
        }
        assert_eq!(ErrorCode::Other(99999).retry_class(), RetryClass::Never);
        for status in [502, 503, 504] {
            assert_eq!(RetryClass::for_http_status(status), RetryClass::Transient);
        }
        assert_eq!(RetryClass::for_http_status(400), RetryClass::Never);
    }

    #[test]
    fn serializes_as_bare_integer() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::TooManyMembers).unwrap(),
            "10005"
        );
        let c: ErrorCode = serde_json::from_str("70001").unwrap();
        assert_eq!(c, ErrorCode::UserSigExpired);
        let c: ErrorCode = serde_json::from_str("-3").unwrap();
        assert_eq!(c, ErrorCode::Other(-3));
    }
}
