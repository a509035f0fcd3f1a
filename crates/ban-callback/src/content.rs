//! `ContentCallback.ResultNotify`: what Tencent's own content moderation
//! judged, and what it advises.

use serde::{Deserialize, Serialize};

use crate::tolerant::{opt_u64, or_default, string_list};

/// Where a moderated message went.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactItem {
    /// 1: one-to-one, 2: group.
    #[serde(rename = "ContactType", default, with = "opt_u64")]
    pub contact_type: Option<u64>,
    /// The receiver (one-to-one).
    #[serde(rename = "To_Account", default, with = "or_default")]
    pub to_account: String,
    /// The group (group messages).
    #[serde(rename = "ToGroupId", default, with = "or_default")]
    pub to_group_id: String,
}

/// `ContentCallback.ResultNotify`: Tencent's own content moderation judged
/// a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContentResult {
    /// The sender.
    #[serde(rename = "From_Account")]
    pub from_account: String,
    /// Where the message went.
    #[serde(rename = "ContactItem", default, with = "or_default")]
    pub contact_item: ContactItem,
    /// Text, Image, Audio, Video.
    #[serde(rename = "ContentType", default, with = "or_default")]
    pub content_type: String,
    /// The text judged (an array or a string).
    #[serde(rename = "TextContent", default, with = "string_list")]
    pub text_content: Vec<String>,
    /// The file judged.
    #[serde(rename = "FileURL", default, with = "or_default")]
    pub file_url: String,
    /// The message.
    #[serde(rename = "MsgID", default, with = "or_default")]
    pub msg_id: String,
    /// 1: blocked, 0: passed.
    #[serde(rename = "CtxcbResult", default, with = "opt_u64")]
    pub ctxcb_result: Option<u64>,
    /// What moderation advises: `Block`, `Review` (a human should look) or
    /// `Pass`; absent from older bodies.
    #[serde(rename = "CtxcbSuggestion", default, deserialize_with = "suggestion")]
    pub ctxcb_suggestion: Option<Suggestion>,
    /// The words that hit.
    #[serde(rename = "CtxcbKeywords", default, with = "string_list")]
    pub ctxcb_keywords: Vec<String>,
    /// The label (Porn, Abuse, Ad, ...).
    #[serde(rename = "CtxcbLabel", default, with = "or_default")]
    pub ctxcb_label: String,
    /// The finer label under it.
    #[serde(rename = "CtxcbSubLabel", default, with = "or_default")]
    pub ctxcb_sub_label: String,
    /// The moderation scene (the policy) that judged it.
    #[serde(rename = "Scene", default, with = "or_default")]
    pub scene: String,
    /// Moderation's id of the request, for Tencent's support.
    #[serde(rename = "CtxcbRequestId", default, with = "or_default")]
    pub ctxcb_request_id: String,
}

/// `CtxcbSuggestion`: what content moderation advises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Suggestion {
    /// Block it.
    Block,
    /// A human should look: flagged, not blocked.
    Review,
    /// Nothing found.
    Pass,
    /// A value this crate does not know, as sent (at most 32 bytes).
    Other(String),
}

impl Suggestion {
    /// The value as Tencent writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Suggestion::Block => "Block",
            Suggestion::Review => "Review",
            Suggestion::Pass => "Pass",
            Suggestion::Other(s) => s,
        }
    }
}

/// `CtxcbSuggestion`, in any case; `null` or empty is none.
fn suggestion<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Suggestion>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    Ok(s.map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "block" => Suggestion::Block,
            "review" => Suggestion::Review,
            "pass" => Suggestion::Pass,
            _ => Suggestion::Other(crate::tolerant::prefix(&s).to_owned()),
        }))
}

impl ContentResult {
    /// What moderation advises: `CtxcbSuggestion` when sent, else read
    /// from `CtxcbResult` (1 `Block`, 0 or absent `Pass`).
    ///
    /// ```
    /// use ban_callback::{Callback, Suggestion};
    /// let body = br#"{"From_Account":"u1","CtxcbResult":1,"CtxcbSuggestion":"Review"}"#;
    /// let Callback::ContentResult(r) = Callback::decode("ContentCallback.ResultNotify", body)? else { panic!() };
    /// assert_eq!(r.suggestion(), Suggestion::Review);
    /// assert!(!r.blocked(), "flagged for a human, not blocked");
    /// # Ok::<(), ban_callback::DecodeError>(())
    /// ```
    pub fn suggestion(&self) -> Suggestion {
        match (&self.ctxcb_suggestion, self.ctxcb_result) {
            (Some(s), _) => s.clone(),
            (None, Some(1)) => Suggestion::Block,
            (None, _) => Suggestion::Pass,
        }
    }

    /// Whether moderation blocked the message (its suggestion is `Block`).
    pub fn blocked(&self) -> bool {
        self.suggestion() == Suggestion::Block
    }

    /// The group, when it was a group message.
    pub fn group(&self) -> Option<&str> {
        let g = self.contact_item.to_group_id.as_str();
        (!g.is_empty()).then_some(g)
    }
}
