//! UserSig for Tencent Cloud Chat (TLSSigAPIv2, HMAC-SHA256): a pure
//! generator, a verifier that says exactly what is wrong, and a cached signer
//! that renews before expiry.
//!
//! The generator and verifier never read the clock: the time is a parameter,
//! so they are deterministic and testable. [`CachedSigner`] owns a [`Clock`].
//! Sigs interoperate with Tencent's official libraries in both directions
//! (this crate's tests check fixtures made by the official Python and Node
//! packages).
//!
//! ```
//! use ban_sign::{SecretKey, Signer};
//!
//! let signer = Signer::new(1400000000, SecretKey::new("my-secret-key"));
//! let sig = signer.sign("administrator", 1_700_000_000, 86_400);
//! let claims = signer.verify(sig.expose(), "administrator", 1_700_000_100)?;
//! assert_eq!(claims.expire, 86_400);
//!
//! // One second past expiry:
//! let err = signer.verify(sig.expose(), "administrator", 1_700_086_401).unwrap_err();
//! assert_eq!(err.to_string(), "UserSig expired 1 s ago (issued at 1700000000, valid for 86400 s)");
//! # Ok::<(), ban_sign::VerifyError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod cache;
mod clock;
#[cfg(feature = "private-map-key")]
mod pmk;
mod sig;

pub use cache::{CachedSigner, RenewPolicy};
#[cfg(feature = "test-util")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
#[cfg(feature = "private-map-key")]
pub use pmk::{private_map_key_userbuf, Room};
pub use sig::{decode, Claims, MalformedStage, SecretKey, Signer, VerifyError};
