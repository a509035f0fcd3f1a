//! PrivateMapKeys (feature `private-map-key`): UserSigs whose userbuf
//! grants privileges in one room, laid out as the official libraries do.

use std::borrow::Cow;

use ban_proto::{UserSig, ValidationError};

use crate::sig::Signer;

/// A room for a PrivateMapKey: numeric (`roomid`) or named (`roomstr`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Room {
    /// A numeric room ID.
    Numeric(u32),
    /// A string room ID.
    Named(String),
}

fn u16_len(field: &'static str, s: &str) -> Result<u16, ValidationError> {
    u16::try_from(s.len()).map_err(|_| ValidationError::TooLong {
        field: Cow::Borrowed(field),
        max: u16::MAX.into(),
        given: s.len(),
    })
}

/// The userbuf of a PrivateMapKey, laid out as the official libraries lay it
/// out: version (1 with a named room, else 0), account length (u16) and
/// bytes, SDKAppID, numeric room, expiry time (`time + expire`), privilege
/// map, account type (0), then for a named room its length (u16) and bytes.
/// Integers are big-endian u32, truncated to 32 bits as the official code does.
pub fn private_map_key_userbuf(
    identifier: &str,
    sdkappid: u64,
    room: &Room,
    expire_at: u64,
    privilege_map: u32,
) -> Result<Vec<u8>, ValidationError> {
    let id_len = u16_len("identifier", identifier)?;
    let mut buf = Vec::with_capacity(64);
    buf.push(u8::from(matches!(room, Room::Named(_))));
    buf.extend_from_slice(&id_len.to_be_bytes());
    buf.extend_from_slice(identifier.as_bytes());
    buf.extend_from_slice(&(sdkappid as u32).to_be_bytes());
    let numeric = match room {
        Room::Numeric(id) => *id,
        Room::Named(_) => 0,
    };
    buf.extend_from_slice(&numeric.to_be_bytes());
    buf.extend_from_slice(&(expire_at as u32).to_be_bytes());
    buf.extend_from_slice(&privilege_map.to_be_bytes());
    buf.extend_from_slice(&0u32.to_be_bytes());
    if let Room::Named(name) = room {
        buf.extend_from_slice(&u16_len("roomstr", name)?.to_be_bytes());
        buf.extend_from_slice(name.as_bytes());
    }
    Ok(buf)
}

impl Signer {
    /// A PrivateMapKey: a UserSig whose userbuf grants `privilege_map` in
    /// `room` until `time + expire`, as the official libraries make it.
    pub fn private_map_key(
        &self,
        identifier: &str,
        time: u64,
        expire: u64,
        room: &Room,
        privilege_map: u32,
    ) -> Result<UserSig, ValidationError> {
        let userbuf = private_map_key_userbuf(
            identifier,
            self.sdkappid(),
            room,
            time.saturating_add(expire),
            privilege_map,
        )?;
        Ok(self.sign_with_userbuf(identifier, time, expire, &userbuf))
    }
}
