//! Validated newtypes: checked at construction and again on deserialize.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::num::NonZeroU32;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Why a value was refused. Its text names the field, the limit and what was
/// given, e.g. `Members_Account has 21 accounts; at most 20 per call`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required string was empty.
    #[error("{field} is empty; it must be 1 to {max} bytes")]
    Empty {
        /// The field, as the service spells it.
        field: Cow<'static, str>,
        /// The largest length allowed, in bytes.
        max: usize,
    },
    /// A string was longer than allowed (counted in UTF-8 bytes).
    #[error("{field} is {given} bytes; at most {max} bytes")]
    TooLong {
        /// The field, as the service spells it.
        field: Cow<'static, str>,
        /// The largest length allowed, in bytes.
        max: usize,
        /// The length given, in bytes.
        given: usize,
    },
    /// A string held a character the field does not allow.
    #[error("{field} has {found:?} (U+{code:04X}) at byte {index}; {allowed}", code = u32::from(*found))]
    BadCharacter {
        /// The field, as the service spells it.
        field: Cow<'static, str>,
        /// The offending character.
        found: char,
        /// Its byte offset in the string.
        index: usize,
        /// What the field allows.
        allowed: &'static str,
    },
    /// A list had too few or too many entries.
    #[error("{field} has {given} accounts; {}", count_limit(*min, *max, *given))]
    Count {
        /// The field, as the service spells it.
        field: Cow<'static, str>,
        /// The fewest entries allowed.
        min: usize,
        /// The most entries allowed.
        max: usize,
        /// How many were given.
        given: usize,
    },
    /// A number was outside its range.
    #[error("{field} is {given}; it must be {min}..={max}{unit}")]
    OutOfRange {
        /// The field, as the service spells it.
        field: Cow<'static, str>,
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
        /// What was given, as text (it may be negative, fractional or huge).
        given: String,
        /// The unit, with a leading space, or empty.
        unit: &'static str,
    },
}

fn count_limit(min: usize, max: usize, given: usize) -> String {
    if given < min {
        format!("at least {min} per call")
    } else {
        format!("at most {max} per call")
    }
}

impl ValidationError {
    /// The field the error is about, as the service spells it (with an index
    /// for a list entry, e.g. `Members_Account[3]`).
    pub fn field(&self) -> &str {
        match self {
            ValidationError::Empty { field, .. }
            | ValidationError::TooLong { field, .. }
            | ValidationError::BadCharacter { field, .. }
            | ValidationError::Count { field, .. }
            | ValidationError::OutOfRange { field, .. } => field,
        }
    }

    fn with_field(mut self, name: String) -> Self {
        match &mut self {
            ValidationError::Empty { field, .. }
            | ValidationError::TooLong { field, .. }
            | ValidationError::BadCharacter { field, .. }
            | ValidationError::Count { field, .. }
            | ValidationError::OutOfRange { field, .. } => *field = Cow::Owned(name),
        }
        self
    }
}

fn check_len(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let field = Cow::Borrowed(field);
    if s.len() < min {
        Err(ValidationError::Empty { field, max })
    } else if s.len() > max {
        Err(ValidationError::TooLong {
            field,
            max,
            given: s.len(),
        })
    } else {
        Ok(())
    }
}

fn check_chars(
    field: &'static str,
    s: &str,
    ok: impl Fn(char) -> bool,
    allowed: &'static str,
) -> Result<(), ValidationError> {
    match s.char_indices().find(|&(_, c)| !ok(c)) {
        None => Ok(()),
        Some((index, found)) => Err(ValidationError::BadCharacter {
            field: Cow::Borrowed(field),
            found,
            index,
            allowed,
        }),
    }
}

/// Defines a validated string newtype over `Cow<'a, str>`: it borrows when
/// built from `&'a str` and owns when built from `String` or deserialized.
macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name<'a>(Cow<'a, str>);

        impl<'a> $name<'a> {
            /// Validates and wraps the value; `&str` is borrowed, `String` owned.
            pub fn new(value: impl Into<Cow<'a, str>>) -> Result<Self, ValidationError> {
                let value = value.into();
                $check(&value)?;
                Ok($name(value))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The same value with its own storage.
            pub fn into_owned(self) -> $name<'static> {
                $name(Cow::Owned(self.0.into_owned()))
            }

            /// A borrowing copy (never allocates).
            pub fn reborrow(&self) -> $name<'_> {
                $name(Cow::Borrowed(&self.0))
            }
        }

        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name<'_> {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name<'_> {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl<'a> TryFrom<&'a str> for $name<'a> {
            type Error = ValidationError;
            fn try_from(value: &'a str) -> Result<Self, ValidationError> {
                $name::new(value)
            }
        }

        impl TryFrom<String> for $name<'static> {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, ValidationError> {
                $name::new(value)
            }
        }

        impl std::str::FromStr for $name<'static> {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, ValidationError> {
                $name::new(value.to_owned())
            }
        }

        impl Serialize for $name<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de, 'a> Deserialize<'de> for $name<'a> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                $name::new(value).map_err(de::Error::custom)
            }
        }
    };
}

/// Longest group ID, in bytes.
pub(crate) const GROUP_ID_MAX: usize = 48;
/// Longest account (UserID), in bytes.
pub(crate) const ACCOUNT_MAX: usize = 32;
/// Longest ban description, in UTF-8 bytes.
pub(crate) const DESCRIPTION_MAX: usize = 1000;

fn check_group_id(s: &str) -> Result<(), ValidationError> {
    check_len("GroupId", s, 1, GROUP_ID_MAX)?;
    check_chars(
        "GroupId",
        s,
        |c| c.is_ascii_graphic() || c == ' ',
        "only printable ASCII (0x20..=0x7E) is allowed",
    )
}

fn check_account(s: &str) -> Result<(), ValidationError> {
    check_len("Member_Account", s, 1, ACCOUNT_MAX)?;
    check_chars(
        "Member_Account",
        s,
        |c| !c.is_control(),
        "control characters are not allowed",
    )
}

fn check_description(s: &str) -> Result<(), ValidationError> {
    check_len("Description", s, 0, DESCRIPTION_MAX)
}

string_newtype!(
    /// A group ID: 1 to 48 bytes of printable ASCII. Generated IDs start with
    /// `@TGS#`; custom ones need not.
    ///
    /// ```
    /// # use ban_proto::GroupId;
    /// assert!(GroupId::new("@TGS#aJRGC4MH6").is_ok());
    /// assert_eq!(GroupId::new("").unwrap_err().to_string(), "GroupId is empty; it must be 1 to 48 bytes");
    /// ```
    GroupId,
    check_group_id
);

string_newtype!(
    /// A member's account (UserID): 1 to 32 bytes of UTF-8 with no control
    /// characters. The service is the final judge of which characters exist.
    ///
    /// ```
    /// # use ban_proto::MemberAccount;
    /// let err = MemberAccount::new("x".repeat(33)).unwrap_err();
    /// assert_eq!(err.to_string(), "Member_Account is 33 bytes; at most 32 bytes");
    /// ```
    MemberAccount,
    check_account
);

string_newtype!(
    /// A ban description: at most 1000 bytes counted in UTF-8, never truncated.
    ///
    /// ```
    /// # use ban_proto::Description;
    /// let err = Description::new("é".repeat(501)).unwrap_err();
    /// assert_eq!(err.to_string(), "Description is 1002 bytes; at most 1000 bytes");
    /// ```
    Description,
    check_description
);

/// The members of one call: 1 to 20 accounts, borrowed or owned.
///
/// ```
/// # use ban_proto::{MemberList, MemberAccount};
/// let list = MemberList::from_strs(&["alice", "bob"])?;
/// assert_eq!(list.len(), 2);
/// let err = MemberList::from_strs(&["a"; 21]).unwrap_err();
/// assert_eq!(err.to_string(), "Members_Account has 21 accounts; at most 20 per call");
/// # Ok::<(), ban_proto::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberList<'a>(Cow<'a, [MemberAccount<'a>]>);

impl<'a> MemberList<'a> {
    /// The most accounts one call takes.
    pub const MAX: usize = 20;

    fn check_count(given: usize) -> Result<(), ValidationError> {
        if (1..=Self::MAX).contains(&given) {
            Ok(())
        } else {
            Err(ValidationError::Count {
                field: Cow::Borrowed("Members_Account"),
                min: 1,
                max: Self::MAX,
                given,
            })
        }
    }

    /// Wraps already-validated accounts, checking the count.
    pub fn new(members: Vec<MemberAccount<'a>>) -> Result<Self, ValidationError> {
        Self::check_count(members.len())?;
        Ok(MemberList(Cow::Owned(members)))
    }

    /// Borrows a slice of validated accounts, checking the count; never allocates.
    pub fn borrowed(members: &'a [MemberAccount<'a>]) -> Result<Self, ValidationError> {
        Self::check_count(members.len())?;
        Ok(MemberList(Cow::Borrowed(members)))
    }

    /// Validates each string (borrowing it) and the count. The error of a bad
    /// entry names its index, e.g. `Members_Account[3] is 33 bytes; ...`.
    pub fn from_strs<S: AsRef<str> + ?Sized>(
        members: &'a [&'a S],
    ) -> Result<Self, ValidationError> {
        Self::check_count(members.len())?;
        let accounts = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                MemberAccount::new(m.as_ref())
                    .map_err(|e| e.with_field(format!("Members_Account[{i}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MemberList(Cow::Owned(accounts)))
    }

    /// The accounts.
    pub fn as_slice(&self) -> &[MemberAccount<'a>] {
        &self.0
    }

    /// How many accounts (1..=20).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a list holds at least one account.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the accounts as `&str`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.0.iter().map(MemberAccount::as_str)
    }

    /// The same list, borrowed.
    pub fn reborrow(&self) -> MemberList<'_> {
        MemberList(Cow::Borrowed(&self.0))
    }

    /// Splits a list of two or more accounts into two non-empty halves;
    /// gives a one-account list back as it is.
    pub fn split_in_two(self) -> Result<(MemberList<'a>, MemberList<'a>), MemberList<'a>> {
        if self.0.len() < 2 {
            return Err(self);
        }
        let mut front = self.0.into_owned();
        let back = front.split_off(front.len() / 2);
        Ok((MemberList(Cow::Owned(front)), MemberList(Cow::Owned(back))))
    }

    /// The accounts.
    pub fn into_vec(self) -> Vec<MemberAccount<'a>> {
        self.0.into_owned()
    }

    /// The same list with its own storage.
    pub fn into_owned(self) -> MemberList<'static> {
        MemberList(Cow::Owned(
            self.0.iter().map(|m| m.clone().into_owned()).collect(),
        ))
    }
}

impl Serialize for MemberList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter())
    }
}

impl<'de, 'a> Deserialize<'de> for MemberList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Vec::<serde_json::Value>::deserialize(deserializer)?;
        MemberList::check_count(raw.len()).map_err(de::Error::custom)?;
        let mut accounts = Vec::with_capacity(raw.len());
        for (i, value) in raw.into_iter().enumerate() {
            let s = match value {
                serde_json::Value::String(s) => s,
                other => {
                    return Err(de::Error::custom(format_args!(
                        "Members_Account[{i}] is {}; accounts must be strings",
                        json_kind(&other)
                    )))
                }
            };
            let account = MemberAccount::new(s)
                .map_err(|e| de::Error::custom(e.with_field(format!("Members_Account[{i}]"))))?;
            accounts.push(account);
        }
        Ok(MemberList(Cow::Owned(accounts)))
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Reads an integer field, naming the field and its range in every error,
/// whatever JSON number (negative, fractional, huge) or other type was sent.
fn deserialize_ranged<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &'static str,
    min: u64,
    max: u64,
    unit: &'static str,
) -> Result<u64, D::Error> {
    struct Ranged {
        field: &'static str,
        min: u64,
        max: u64,
        unit: &'static str,
    }
    impl Ranged {
        fn out_of_range<E: de::Error>(&self, given: String) -> E {
            E::custom(ValidationError::OutOfRange {
                field: Cow::Borrowed(self.field),
                min: self.min,
                max: self.max,
                given,
                unit: self.unit,
            })
        }
    }
    impl Visitor<'_> for Ranged {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(
                f,
                "{} as an integer in {}..={}",
                self.field, self.min, self.max
            )
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            if (self.min..=self.max).contains(&v) {
                Ok(v)
            } else {
                Err(self.out_of_range(v.to_string()))
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(self.out_of_range(v.to_string())),
            }
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(self.out_of_range(v.to_string())),
            }
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(self.out_of_range(v.to_string())),
            }
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            Err(self.out_of_range(format!("{v} (not an integer)")))
        }
    }
    deserializer.deserialize_u64(Ranged {
        field,
        min,
        max,
        unit,
    })
}

fn range_error(
    field: &'static str,
    min: u64,
    max: u64,
    given: u64,
    unit: &'static str,
) -> ValidationError {
    ValidationError::OutOfRange {
        field: Cow::Borrowed(field),
        min,
        max,
        given: given.to_string(),
        unit,
    }
}

/// How long a ban lasts: 1 to 4294967295 seconds (a `u32`). Zero is refused
/// client-side: it would ban nobody for no time.
///
/// ```
/// # use ban_proto::BanDuration;
/// assert_eq!(BanDuration::from_secs(3600)?.as_secs(), 3600);
/// assert_eq!(
///     BanDuration::try_from(u64::from(u32::MAX) + 1).unwrap_err().to_string(),
///     "Duration is 4294967296; it must be 1..=4294967295 seconds"
/// );
/// # Ok::<(), ban_proto::ValidationError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct BanDuration(NonZeroU32);

impl BanDuration {
    /// Checks and wraps a number of seconds.
    pub fn from_secs(secs: u32) -> Result<Self, ValidationError> {
        NonZeroU32::new(secs)
            .map(BanDuration)
            .ok_or_else(|| range_error("Duration", 1, u32::MAX.into(), 0, " seconds"))
    }

    /// The number of seconds.
    pub fn as_secs(self) -> u32 {
        self.0.get()
    }
}

impl TryFrom<u64> for BanDuration {
    type Error = ValidationError;
    fn try_from(secs: u64) -> Result<Self, ValidationError> {
        u32::try_from(secs)
            .map_err(|_| range_error("Duration", 1, u32::MAX.into(), secs, " seconds"))
            .and_then(BanDuration::from_secs)
    }
}

impl<'de> Deserialize<'de> for BanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let secs = deserialize_ranged(deserializer, "Duration", 1, u32::MAX.into(), " seconds")?;
        BanDuration::try_from(secs).map_err(de::Error::custom)
    }
}

/// How many banned members one `get_group_ban_member` page asks for: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PageLimit(u8);

impl PageLimit {
    /// The largest page the service returns.
    pub const MAX: PageLimit = PageLimit(100);

    /// Checks and wraps a page size.
    pub fn new(limit: u32) -> Result<Self, ValidationError> {
        if (1..=100).contains(&limit) {
            Ok(PageLimit(limit as u8))
        } else {
            Err(range_error("Limit", 1, 100, limit.into(), ""))
        }
    }

    /// The page size.
    pub fn get(self) -> u32 {
        self.0.into()
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        PageLimit::MAX
    }
}

impl<'de> Deserialize<'de> for PageLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let limit = deserialize_ranged(deserializer, "Limit", 1, 100, "")?;
        Ok(PageLimit(limit as u8))
    }
}

/// Where a `get_group_ban_member` page starts: 0 for the first page, then the
/// previous answer's `NextOffset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PageOffset(pub u32);

impl<'de> Deserialize<'de> for PageOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let offset = deserialize_ranged(deserializer, "Offset", 0, u32::MAX.into(), "")?;
        Ok(PageOffset(offset as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_field_limit_and_given() {
        let e = GroupId::new("x".repeat(49)).unwrap_err();
        assert_eq!(e.to_string(), "GroupId is 49 bytes; at most 48 bytes");
        let e = GroupId::new("ab\u{e9}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "GroupId has 'é' (U+00E9) at byte 2; only printable ASCII (0x20..=0x7E) is allowed"
        );
        let e = MemberList::from_strs(&["ok", "bad\nname"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Members_Account[1] has '\\n' (U+000A) at byte 3; control characters are not allowed"
        );
        assert_eq!(e.field(), "Members_Account[1]");
        let e = MemberList::from_strs::<str>(&[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Members_Account has 0 accounts; at least 1 per call"
        );
        let e = PageLimit::new(101).unwrap_err();
        assert_eq!(e.to_string(), "Limit is 101; it must be 1..=100");
        let e = serde_json::from_str::<BanDuration>("-1").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Duration is -1; it must be 1..=4294967295 seconds"),
            "{e}"
        );
        let e = serde_json::from_str::<BanDuration>("1.5").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Duration is 1.5 (not an integer)"),
            "{e}"
        );
    }
}
