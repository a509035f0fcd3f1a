//! A thread-safe UserSig cache that renews before expiry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use ban_proto::UserSig;

use crate::clock::{Clock, SystemClock};
use crate::sig::Signer;

/// When the cached signer renews: `margin` seconds before expiry, where the
/// margin is the larger of `fraction` of the validity and `min_margin`, but
/// never more than half the validity.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RenewPolicy {
    /// How long each sig is valid, in seconds.
    pub validity: u64,
    /// Renew when less than this share of the validity is left.
    pub fraction: f64,
    /// ... or when less than this many seconds are left, whichever is larger.
    pub min_margin: u64,
}

impl Default for RenewPolicy {
    /// One-day sigs, renewed when less than 10% or 5 minutes is left.
    fn default() -> Self {
        RenewPolicy {
            validity: 86_400,
            fraction: 0.10,
            min_margin: 300,
        }
    }
}

impl RenewPolicy {
    /// Sigs valid `validity` seconds, renewed as the default says.
    pub fn with_validity(validity: u64) -> Self {
        RenewPolicy {
            validity,
            ..RenewPolicy::default()
        }
    }

    /// Renew when less than this share of the validity is left.
    pub fn fraction(mut self, fraction: f64) -> Self {
        self.fraction = fraction;
        self
    }

    /// ... or when less than this many seconds are left.
    pub fn min_margin(mut self, secs: u64) -> Self {
        self.min_margin = secs;
        self
    }

    /// Seconds before expiry at which a sig is renewed.
    pub fn margin(&self) -> u64 {
        let by_fraction = (self.validity as f64 * self.fraction.clamp(0.0, 1.0)) as u64;
        by_fraction.max(self.min_margin).min(self.validity / 2)
    }
}

#[derive(Debug)]
struct Entry {
    sig: UserSig,
    renew_at: u64,
    expires_at: u64,
}

/// Hands out the admin's UserSig, signing a new one only when the cached one
/// is within its renewal margin.
///
/// The hot path is a lock-free load and a clock read. When renewal is due,
/// one caller signs; concurrent callers keep getting the old sig while it is
/// still valid (and wait only if it has actually expired), so renewal happens
/// once.
///
/// ```
/// use std::sync::Arc;
/// use ban_sign::{CachedSigner, ManualClock, RenewPolicy, SecretKey, Signer};
///
/// let clock = Arc::new(ManualClock::new(1_700_000_000));
/// let signer = Signer::new(1400000000, SecretKey::new("key"));
/// let cache = CachedSigner::with_clock("administrator", signer, RenewPolicy::default(), clock.clone());
/// let first = cache.usersig();
/// clock.advance(3_600);
/// assert_eq!(cache.usersig(), first); // still far from expiry
/// clock.advance(80_000);               // inside the margin
/// assert_ne!(cache.usersig(), first);
/// assert_eq!(cache.renewals(), 2);
/// ```
pub struct CachedSigner {
    identifier: String,
    signer: Signer,
    policy: RenewPolicy,
    clock: Arc<dyn Clock>,
    current: ArcSwap<Entry>,
    renewing: Mutex<()>,
    renewals: AtomicU64,
}

impl std::fmt::Debug for CachedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSigner")
            .field("identifier", &self.identifier)
            .field("sdkappid", &self.signer.sdkappid())
            .field("policy", &self.policy)
            .field("renewals", &self.renewals())
            .finish_non_exhaustive()
    }
}

impl CachedSigner {
    /// A cache over the system clock.
    pub fn new(identifier: impl Into<String>, signer: Signer, policy: RenewPolicy) -> Self {
        Self::with_clock(identifier, signer, policy, Arc::new(SystemClock))
    }

    /// A cache over the given clock.
    pub fn with_clock(
        identifier: impl Into<String>,
        signer: Signer,
        policy: RenewPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let identifier = identifier.into();
        let entry = Self::make(&signer, &identifier, &policy, clock.now_unix());
        CachedSigner {
            identifier,
            signer,
            policy,
            clock,
            current: ArcSwap::from_pointee(entry),
            renewing: Mutex::new(()),
            renewals: AtomicU64::new(1),
        }
    }

    fn make(signer: &Signer, identifier: &str, policy: &RenewPolicy, now: u64) -> Entry {
        let expires_at = now.saturating_add(policy.validity);
        Entry {
            sig: signer.sign(identifier, now, policy.validity),
            renew_at: expires_at - policy.margin(),
            expires_at,
        }
    }

    /// The identifier the sigs are for.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The SDKAppID the sigs are for.
    pub fn sdkappid(&self) -> u64 {
        self.signer.sdkappid()
    }

    /// How many sigs have been signed so far (the first one included).
    pub fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// A currently valid UserSig.
    pub fn usersig(&self) -> UserSig {
        let now = self.clock.now_unix();
        let entry = self.current.load();
        if now < entry.renew_at {
            return entry.sig.clone();
        }
        let guard = match self.renewing.try_lock() {
            Ok(guard) => guard,
            // Someone else is renewing: the old sig is still good to use.
            Err(_) if now <= entry.expires_at => return entry.sig.clone(),
            Err(_) => self
                .renewing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        };
        let entry = self.current.load();
        if now < entry.renew_at {
            return entry.sig.clone();
        }
        let fresh = Self::make(&self.signer, &self.identifier, &self.policy, now);
        let sig = fresh.sig.clone();
        self.current.store(Arc::new(fresh));
        self.renewals.fetch_add(1, Ordering::Relaxed);
        drop(guard);
        sig
    }
}
