//! Moderation rules for Tencent Cloud Chat's callbacks, without I/O: a TOML
//! rules file ([`Rules::parse`], refused with the line and the reason) and
//! what each callback gets ([`Rules::judge`]): the answer, made from the
//! rules alone so it is never late, and the matches that may be offences
//! once counted (by `banctl serve`, in memory or in Redis).
//!
//! ```
//! use ban_callback::{Callback, GroupMessage};
//! use ban_rules::{MatchKind, Rules};
//!
//! let rules = Rules::parse(r#"
//! [[rule]]
//! name = "spam"
//! on = "message"
//! contains_any = ["free coins"]
//! block = true
//! ladder = ["mute 10m", "mute 1h", "ban 7d"]
//! "#)?;
//! let msg = GroupMessage::text_message("@TGS#aLIVE", "AVChatRoom", "bot1", "FREE COINS!", 7, 0);
//! let judged = rules.judge(&Callback::BeforeSendMsg(msg));
//! assert_eq!(judged.answer.error_code, 1, "refused before it is sent");
//! assert_eq!(judged.matches.len(), 1);
//! assert!(matches!(&judged.matches[0].kind, MatchKind::Word(w) if w == "free coins"));
//! assert_eq!(rules.rules[0].step(3).to_string(), "ban 7d");
//! # Ok::<(), ban_rules::RulesError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod judge;
mod ladder;
mod matcher;
mod normalize;
mod raid;
mod rate;
mod rules;

pub use judge::{evidence, star, Judgement, Match, MatchKind, EVIDENCE_BYTES};
pub use matcher::{Hit, Matcher, Text, REGEX_SIZE_LIMIT};
pub use normalize::{is_unspaced, normalize, NormChar, Normalized, Split, Stage, Stages};
pub use raid::{Raid, MAX_NEWCOMER_MESSAGE};
pub use rules::{
    short, Mode, On, RateCheck, RateScope, Rule, Rules, RulesError, RulesErrorKind, Step,
    MAX_LIST_ENTRIES,
};
