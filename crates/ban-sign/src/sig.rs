//! The TLSSigAPIv2 algorithm, stage by stage.

use std::fmt;
use std::io::{Read, Write};

use ban_proto::{ErrorCode, UserSig};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// Standard alphabet, padding optional when decoding (the Node library pads,
/// hand-edited sigs sometimes lose it).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The largest inflated sig accepted; real ones are a few hundred bytes.
const MAX_INFLATED: u64 = 64 * 1024;

/// The app's secret key. Zeroized on drop; `Debug` and `Display` print a
/// redaction.
///
/// ```
/// # use ban_sign::SecretKey;
/// let key = SecretKey::new("5bd2850fff3ecb11");
/// assert_eq!(format!("{key:?} {key}"), "SecretKey(<redacted>) <redacted secret key>");
/// ```
#[derive(Clone)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    /// Wraps a key (its UTF-8 bytes key the HMAC; it is not hex-decoded).
    pub fn new(key: impl Into<String>) -> Self {
        SecretKey(Zeroizing::new(key.into()))
    }

    /// The key itself. Only for handing it to something that must hold it
    /// (an emulator's ready file); never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC takes keys of any length")
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted secret key>")
    }
}

/// Stage 1: the content string the HMAC covers; each line ends in `\n`, and
/// the `TLS.userbuf` line is present only with a userbuf.
pub(crate) fn content_string(
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf_b64: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf_b64 {
        s.push_str("TLS.userbuf:");
        s.push_str(buf);
        s.push('\n');
    }
    s
}

/// Stage 2: HMAC-SHA256 of the content keyed with the secret key's UTF-8
/// bytes, in standard base64 with padding.
pub(crate) fn hmac_base64(key: &SecretKey, content: &str) -> String {
    let mut mac = key.mac();
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Stage 4b: standard base64 with Tencent's substitutions `+`->`*`,
/// `/`->`-`, `=`->`_` (not RFC 4648 base64url).
pub(crate) fn encode_alphabet(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn decode_alphabet(sig: &str) -> Result<Vec<u8>, VerifyError> {
    let mut std = Zeroizing::new(String::with_capacity(sig.len()));
    for (i, c) in sig.chars().enumerate() {
        std.push(match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            'A'..='Z' | 'a'..='z' | '0'..='9' => c,
            _ => {
                return Err(VerifyError::malformed(
                    MalformedStage::Alphabet,
                    format!("character {c:?} at position {i} is not in Tencent's base64 alphabet"),
                ))
            }
        });
    }
    LENIENT
        .decode(std.as_bytes())
        .map_err(|e| VerifyError::malformed(MalformedStage::Base64, e.to_string()))
}

/// What a UserSig says about itself, once decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claims {
    /// `TLS.ver` (`"2.0"`).
    pub version: String,
    /// `TLS.identifier`.
    pub identifier: String,
    /// `TLS.sdkappid`.
    pub sdkappid: u64,
    /// `TLS.time`: when it was issued, Unix seconds.
    pub time: u64,
    /// `TLS.expire`: how long it is valid, seconds.
    pub expire: u64,
    /// `TLS.userbuf`, decoded, if present.
    pub userbuf: Option<Vec<u8>>,
}

impl Claims {
    /// When it expires: `time + expire` (valid while `now <= expires_at`).
    pub fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

/// A decoded sig: the claims plus what the HMAC check needs.
struct Decoded {
    claims: Claims,
    userbuf_b64: Option<String>,
    mac_b64: Zeroizing<String>,
}

/// Which stage of decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedStage {
    /// A character outside Tencent's alphabet.
    Alphabet,
    /// Not valid base64 once mapped back.
    Base64,
    /// Not a zlib stream, or too large.
    Zlib,
    /// Not a JSON object, or a field of the wrong type.
    Json,
    /// A required field is missing.
    MissingField,
}

impl fmt::Display for MalformedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MalformedStage::Alphabet => "alphabet",
            MalformedStage::Base64 => "base64",
            MalformedStage::Zlib => "zlib",
            MalformedStage::Json => "JSON",
            MalformedStage::MissingField => "missing field",
        })
    }
}

/// Why a UserSig was refused. Each failure has its own variant and service
/// code ([`VerifyError::error_code`]); no text ever holds the sig or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The sig could not be decoded.
    #[error("UserSig malformed at the {stage} stage: {detail}")]
    Malformed {
        /// Where decoding stopped.
        stage: MalformedStage,
        /// What was wrong there.
        detail: String,
    },
    /// The sig was made for another app.
    #[error("UserSig is for SDKAppID {found}, expected {expected}")]
    SdkAppIdMismatch {
        /// The SDKAppID checked against.
        expected: u64,
        /// The one in the sig.
        found: u64,
    },
    /// The sig was made for another account.
    #[error("UserSig is for identifier {found:?}, expected {expected:?}")]
    IdentifierMismatch {
        /// The identifier checked against.
        expected: String,
        /// The one in the sig.
        found: String,
    },
    /// The sig has expired (`now > time + expire`).
    #[error("UserSig expired {by} s ago (issued at {time}, valid for {expire} s)")]
    Expired {
        /// `TLS.time`.
        time: u64,
        /// `TLS.expire`.
        expire: u64,
        /// How many seconds past expiry `now` is.
        by: u64,
    },
    /// The HMAC does not match: made with another key, or altered.
    #[error("UserSig signature does not match (wrong secret key or altered sig)")]
    BadSignature,
}

impl VerifyError {
    fn malformed(stage: MalformedStage, detail: impl Into<String>) -> Self {
        VerifyError::Malformed {
            stage,
            detail: detail.into(),
        }
    }

    /// The code the service answers for this failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            VerifyError::Malformed { .. } => ErrorCode::UserSigInvalid,
            VerifyError::SdkAppIdMismatch { .. } => ErrorCode::SdkAppIdMismatch,
            VerifyError::IdentifierMismatch { .. } => ErrorCode::IdentifierMismatch,
            VerifyError::Expired { .. } => ErrorCode::UserSigExpired,
            VerifyError::BadSignature => ErrorCode::UserSigVerifyFailed,
        }
    }
}

fn field<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, VerifyError> {
    obj.get(name).ok_or_else(|| {
        VerifyError::malformed(MalformedStage::MissingField, format!("{name} is missing"))
    })
}

fn str_field(obj: &Map<String, Value>, name: &'static str) -> Result<String, VerifyError> {
    field(obj, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            VerifyError::malformed(MalformedStage::Json, format!("{name} is not a string"))
        })
}

fn u64_field(obj: &Map<String, Value>, name: &'static str) -> Result<u64, VerifyError> {
    let v = field(obj, name)?;
    // The official libraries write numbers; accept numeric strings too, as
    // the Go verifier does.
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| {
            VerifyError::malformed(
                MalformedStage::Json,
                format!("{name} is not a non-negative integer"),
            )
        })
}

fn decode_full(sig: &str) -> Result<Decoded, VerifyError> {
    let compressed = decode_alphabet(sig)?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .map_err(|e| VerifyError::malformed(MalformedStage::Zlib, e.to_string()))?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(VerifyError::malformed(
            MalformedStage::Zlib,
            "inflates to more than 64 KiB",
        ));
    }
    let value: Value = serde_json::from_slice(&json)
        .map_err(|e| VerifyError::malformed(MalformedStage::Json, e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(VerifyError::malformed(
            MalformedStage::Json,
            "not a JSON object",
        ));
    };
    let userbuf_b64 = match obj.get("TLS.userbuf") {
        None | Some(Value::Null) => None,
        Some(_) => Some(str_field(&obj, "TLS.userbuf")?),
    };
    let userbuf = match &userbuf_b64 {
        None => None,
        Some(b) => Some(LENIENT.decode(b).map_err(|e| {
            VerifyError::malformed(
                MalformedStage::Json,
                format!("TLS.userbuf is not base64: {e}"),
            )
        })?),
    };
    let claims = Claims {
        version: str_field(&obj, "TLS.ver")?,
        identifier: str_field(&obj, "TLS.identifier")?,
        sdkappid: u64_field(&obj, "TLS.sdkappid")?,
        time: u64_field(&obj, "TLS.time")?,
        expire: u64_field(&obj, "TLS.expire")?,
        userbuf,
    };
    let mac_b64 = Zeroizing::new(str_field(&obj, "TLS.sig")?);
    Ok(Decoded {
        claims,
        userbuf_b64,
        mac_b64,
    })
}

/// Decodes a sig without checking its signature: for looking at what a sig
/// claims (debugging 70001/70003/70009). Never panics, whatever the input.
pub fn decode(sig: &str) -> Result<Claims, VerifyError> {
    decode_full(sig).map(|d| d.claims)
}

/// Signs and verifies UserSigs for one app. Pure: every time is a parameter.
#[derive(Debug, Clone)]
pub struct Signer {
    sdkappid: u64,
    key: SecretKey,
}

impl Signer {
    /// A signer for an app.
    pub fn new(sdkappid: u64, key: SecretKey) -> Self {
        Signer { sdkappid, key }
    }

    /// The app's SDKAppID.
    pub fn sdkappid(&self) -> u64 {
        self.sdkappid
    }

    /// The secret key (redacted in `Debug`).
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// A UserSig for `identifier`, issued at `time` (Unix seconds), valid for
    /// `expire` seconds.
    pub fn sign(&self, identifier: &str, time: u64, expire: u64) -> UserSig {
        self.sign_inner(identifier, time, expire, None)
    }

    /// A UserSig carrying a userbuf.
    pub fn sign_with_userbuf(
        &self,
        identifier: &str,
        time: u64,
        expire: u64,
        userbuf: &[u8],
    ) -> UserSig {
        self.sign_inner(identifier, time, expire, Some(userbuf))
    }

    fn sign_inner(
        &self,
        identifier: &str,
        time: u64,
        expire: u64,
        userbuf: Option<&[u8]>,
    ) -> UserSig {
        let userbuf_b64 = userbuf.map(|b| STANDARD.encode(b));
        let content = content_string(
            identifier,
            self.sdkappid,
            time,
            expire,
            userbuf_b64.as_deref(),
        );
        let mac = Zeroizing::new(hmac_base64(&self.key, &content));
        let mut doc = json!({
            "TLS.ver": "2.0",
            "TLS.identifier": identifier,
            "TLS.sdkappid": self.sdkappid,
            "TLS.time": time,
            "TLS.expire": expire,
            "TLS.sig": mac.as_str(),
        });
        if let Some(b) = userbuf_b64 {
            doc["TLS.userbuf"] = Value::String(b);
        }
        let json = Zeroizing::new(doc.to_string());
        let mut z = ZlibEncoder::new(Vec::with_capacity(256), Compression::default());
        z.write_all(json.as_bytes())
            .expect("writing to a Vec cannot fail");
        let compressed = z.finish().expect("writing to a Vec cannot fail");
        UserSig::new(encode_alphabet(&compressed))
    }

    /// Verifies a sig for `identifier` at time `now`: decodes it, checks the
    /// SDKAppID, the identifier and the expiry (expired when
    /// `now > time + expire`), then the HMAC in constant time. Returns the
    /// claims, or the first failure. Never panics, whatever the input.
    pub fn verify(&self, sig: &str, identifier: &str, now: u64) -> Result<Claims, VerifyError> {
        let decoded = decode_full(sig)?;
        let c = &decoded.claims;
        if c.sdkappid != self.sdkappid {
            return Err(VerifyError::SdkAppIdMismatch {
                expected: self.sdkappid,
                found: c.sdkappid,
            });
        }
        if c.identifier != identifier {
            return Err(VerifyError::IdentifierMismatch {
                expected: identifier.to_owned(),
                found: c.identifier.clone(),
            });
        }
        if now > c.expires_at() {
            return Err(VerifyError::Expired {
                time: c.time,
                expire: c.expire,
                by: now - c.expires_at(),
            });
        }
        let Ok(given) = LENIENT.decode(decoded.mac_b64.as_bytes()) else {
            return Err(VerifyError::BadSignature);
        };
        let content = content_string(
            &c.identifier,
            c.sdkappid,
            c.time,
            c.expire,
            decoded.userbuf_b64.as_deref(),
        );
        let mut mac = self.key.mac();
        mac.update(content.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&given)
            .map_err(|_| VerifyError::BadSignature)?;
        Ok(decoded.claims)
    }
}

/// Each stage of the algorithm on its own, so a failure points at one step.
#[cfg(test)]
#[path = "sig_stages.rs"]
mod stages;
