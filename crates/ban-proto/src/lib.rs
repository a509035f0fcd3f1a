//! Transport-free types for Tencent Cloud Chat's member-ban REST API for
//! groups (live rooms, AVChatRoom, above all; the service allows all five
//! group types): `ban_group_member`, `unban_group_member` and
//! `get_group_ban_member`.
//!
//! This crate holds the service contract and nothing else: request and
//! response types spelled exactly as the service spells them, validated
//! newtypes that refuse bad input with an error naming the field, the limit
//! and what was given, every documented error code with its retry class, and
//! the endpoint catalogue (paths, per-call limits, rates, regions). It does no
//! I/O and depends only on `serde`, `serde_json` and `thiserror`, so services
//! can embed it; the client (`ban-transport`, `ban-facade`) and the server
//! (`ban-emulator`) are both built on it.
//!
//! ```
//! use ban_proto::{BanRequest, BanDuration, GroupId, MemberList, MemberAccount, Description};
//!
//! let members = [MemberAccount::new("brennanli3")?, MemberAccount::new("brennanli12")?];
//! let request = BanRequest {
//!     group_id: GroupId::new("@TGS#aJRGC4MH6")?,
//!     members: MemberList::borrowed(&members)?,
//!     duration: BanDuration::from_secs(3600)?,
//!     description: Some(Description::new("you are banned because of irregularities")?),
//! };
//! let mut buf = Vec::new();
//! ban_proto::encode_into(&request, &mut buf)?;
//! assert!(buf.starts_with(br#"{"GroupId":"@TGS#aJRGC4MH6","Members_Account":["brennanli3""#));
//!
//! // Bad input never reaches the wire:
//! let err = BanDuration::from_secs(0).unwrap_err();
//! assert_eq!(err.to_string(), "Duration is 0; it must be 1..=4294967295 seconds");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod account;
mod codes;
mod endpoint;
mod message;
mod mute;
mod nospeak;
mod room;
mod secret;
mod setting;
mod text;
mod validate;

pub use account::KickRequest;
pub use codes::{ErrorCode, RetryClass};
pub use endpoint::{query, Endpoint, ParseRegionError, Region};
pub use message::{
    encode_into, ActionStatus, BanListRequest, BanListResponse, BanRequest, BannedAccount, Command,
    Envelope, ServiceResponse, UnbanRequest,
};
pub use mute::{MuteDuration, MuteRequest, MutedAccount, MutedListRequest, MutedListResponse};
pub use nospeak::{GetNoSpeakingRequest, NoSpeakingRequest, NoSpeakingState, PlainAnswer};
pub use room::{
    MuteAll, MuteAllRequest, OnlineCountRequest, OnlineCountResponse, RoomMember,
    RoomMembersRequest, RoomMembersResponse,
};
pub use secret::UserSig;
pub use setting::{SettingError, QUOTED_BYTES};
pub use text::{escape, escape_bounded, MAX_INFO_BYTES};
pub use validate::{
    BanDuration, Description, GroupId, MemberAccount, MemberList, MuteMemberList, PageLimit,
    PageOffset, ValidationError,
};
