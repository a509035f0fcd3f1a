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
    /// A parameter that decides how the request is checked or read comes
    /// more than once: a proxy in front may read another copy than this
    /// service does, so neither is taken.
    #[error("the callback URL has {0} more than once")]
    Repeated(&'static str),
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
    /// assert_eq!(
    ///     CallbackQuery::parse("SdkAppid=1&CallbackCommand=x&Sign=a&Sign=b"),
    ///     Err(QueryError::Repeated("Sign"))
    /// );
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
            let (name, slot, unique) = match k.as_ref() {
                // One 2026 page spells it SdkAppId; both name one parameter.
                "SdkAppid" | "SdkAppId" => ("SdkAppid", &mut sdkappid, true),
                "CallbackCommand" => ("CallbackCommand", &mut command, true),
                "Sign" => ("Sign", &mut sign, true),
                "RequestTime" => ("RequestTime", &mut request_time, true),
                "ClientIP" => ("ClientIP", &mut client_ip, false),
                "OptPlatform" => ("OptPlatform", &mut platform, false),
                _ => continue,
            };
            if slot.is_some() {
                if unique {
                    return Err(QueryError::Repeated(name));
                }
                // Informational: the first counts.
                continue;
            }
            *slot = Some(v.into_owned());
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
