//! Account-level actions, app-wide rather than per group:
//! `im_open_login_svc/kick` logs an account out everywhere (every UserSig
//! it holds stops working; a fresh one logs in again). There is no REST
//! "account ban": a ban of an account is a kick plus the app's own server
//! refusing it new UserSigs.

use std::borrow::Cow;

use serde::Serialize;

use crate::endpoint::Endpoint;
use crate::message::{Command, Envelope};
use crate::validate::{MemberAccount, ValidationError};

/// `kick`: one account a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KickRequest<'a> {
    #[serde(rename = "UserID")]
    user_id: MemberAccount<'a>,
}

impl<'a> KickRequest<'a> {
    /// Kicks `account` (checked as a member account is, naming `UserID`).
    pub fn new(account: impl Into<Cow<'a, str>>) -> Result<Self, ValidationError> {
        let user_id = MemberAccount::new(account).map_err(|e| e.with_field("UserID".to_owned()))?;
        Ok(KickRequest { user_id })
    }

    /// The account.
    pub fn account(&self) -> &str {
        self.user_id.as_str()
    }
}

impl Command for KickRequest<'_> {
    const ENDPOINT: &'static Endpoint = &Endpoint::KICK;
    type Response = Envelope;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kick_names_one_user_id() {
        let k = KickRequest::new("bot7").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"UserID":"bot7"}"#);
        assert_eq!(KickRequest::new("").unwrap_err().field(), "UserID");
    }
}
