//! Who calls: the SDKAppID, the admin and a current UserSig.

use ban_proto::UserSig;

use crate::error::{Cause, SharedError};

/// Supplies the admin identity and a current UserSig for each attempt.
///
/// `ban-facade` plugs `ban-sign`'s cached signer in here; this crate does not
/// sign anything itself.
pub trait Credentials: Send + Sync + 'static {
    /// The app's SDKAppID.
    fn sdkappid(&self) -> u64;
    /// The app admin account.
    fn identifier(&self) -> &str;
    /// A UserSig valid now.
    fn usersig(&self) -> Result<UserSig, CredentialsError>;
}

/// A credentials provider could not produce a UserSig; `source()` is why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError(pub Cause);

impl CredentialsError {
    /// A failure in words.
    pub fn new(message: impl Into<String>) -> Self {
        CredentialsError(Cause::new(message))
    }

    /// A failure caused by `source`.
    pub fn with_source(message: impl Into<String>, source: SharedError) -> Self {
        CredentialsError(Cause::with_source(message, source))
    }
}

impl std::fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CredentialsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Fixed credentials: a UserSig made elsewhere (it will expire).
#[derive(Debug, Clone)]
pub struct StaticCredentials {
    sdkappid: u64,
    identifier: String,
    usersig: UserSig,
}

impl StaticCredentials {
    /// Credentials from an SDKAppID, the admin identifier and its UserSig.
    pub fn new(sdkappid: u64, identifier: impl Into<String>, usersig: UserSig) -> Self {
        StaticCredentials {
            sdkappid,
            identifier: identifier.into(),
            usersig,
        }
    }
}

impl Credentials for StaticCredentials {
    fn sdkappid(&self) -> u64 {
        self.sdkappid
    }
    fn identifier(&self) -> &str {
        &self.identifier
    }
    fn usersig(&self) -> Result<UserSig, CredentialsError> {
        Ok(self.usersig.clone())
    }
}
