//! The query string of a callback request.

/// What the service puts in a callback's URL: `SdkAppid` (that casing),
/// `CallbackCommand`, `contenttype`, `ClientIP`, `OptPlatform`, and with
/// authentication on, `Sign` and `RequestTime`. Other parameters (the
/// console's URL may carry its own) are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackQuery {
    /// The app.
    pub sdkappid: u64,
    /// The command, e.g. `Group.CallbackBeforeSendMsg`.
    pub command: String,
    /// The signature, when authentication is on.
    pub sign: Option<String>,
    /// When the service signed it (Unix seconds, as sent).
    pub request_time: Option<String>,
    /// The client's IP address, as the service saw it.
    pub client_ip: Option<String>,
    /// The sender's platform (RESTAPI, Web, Android, iOS, ...).
    pub platform: Option<String>,
}

/// A query without what every callback carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A required parameter is absent.
    #[error("the callback URL has no {0} parameter")]
    Missing(&'static str),
    /// `SdkAppid` is not a number.
    #[error("SdkAppid \"{0}\" is not a number")]
    BadSdkAppid(String),
}

impl CallbackQuery {
    /// Reads a query string (without the `?`).
    ///
    /// ```
    /// use ban_callback::{CallbackQuery, QueryError};
    ///
    /// let q = CallbackQuery::parse("SdkAppid=1400000000&CallbackCommand=Alert.RequestOverLimit&contenttype=json")?;
    /// assert_eq!((q.sdkappid, q.command.as_str()), (1400000000, "Alert.RequestOverLimit"));
    /// assert_eq!(CallbackQuery::parse("CallbackCommand=x"), Err(QueryError::Missing("SdkAppid")));
    /// # Ok::<(), QueryError>(())
    /// ```
    pub fn parse(query: &str) -> Result<CallbackQuery, QueryError> {
        let mut sdkappid = None;
        let mut command = None;
        let mut sign = None;
        let mut request_time = None;
        let mut client_ip = None;
        let mut platform = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "SdkAppid" => &mut sdkappid,
                "CallbackCommand" => &mut command,
                "Sign" => &mut sign,
                "RequestTime" => &mut request_time,
                "ClientIP" => &mut client_ip,
                "OptPlatform" => &mut platform,
                _ => continue,
            };
            // The first of a repeated parameter counts.
            slot.get_or_insert_with(|| v.into_owned());
        }
        let raw = sdkappid.ok_or(QueryError::Missing("SdkAppid"))?;
        let sdkappid = raw
            .parse()
            .map_err(|_| QueryError::BadSdkAppid(crate::tolerant::prefix(&raw).to_owned()))?;
        Ok(CallbackQuery {
            sdkappid,
            command: command.ok_or(QueryError::Missing("CallbackCommand"))?,
            sign,
            request_time,
            client_ip,
            platform,
        })
    }
}
