//! Shared setup: an emulator and a transport signed by ban-sign.

#![allow(dead_code)]

use std::time::Duration;

use ban_emulator::{Emulator, EmulatorBuilder};
use ban_sign::Signer;
use ban_transport::{RetryPolicy, StaticCredentials, Transport, TransportBuilder};

pub(crate) const G: &str = "@TGS#aTRANSPORT";

/// Credentials with a UserSig signed once, valid for a day of the emulator's clock.
pub(crate) fn credentials(emu: &Emulator) -> StaticCredentials {
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    StaticCredentials::new(
        emu.sdkappid(),
        emu.admin(),
        signer.sign(emu.admin(), emu.now(), 86_400),
    )
}

pub(crate) fn builder(emu: &Emulator) -> TransportBuilder {
    let b = Transport::builder(credentials(emu))
        .endpoint(emu.endpoint())
        .webpki_roots(false)
        .retry(
            RetryPolicy::default()
                .base_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(50))
                .throttle_backoff(Duration::from_millis(100))
                .deadline(Duration::from_secs(10))
                .max_attempts(8),
        );
    match emu.ca_cert_pem() {
        Some(pem) => b.add_root_certificate_pem(pem).unwrap(),
        None => b.danger_allow_plain_http(true),
    }
}

pub(crate) async fn emulator(b: EmulatorBuilder) -> Emulator {
    b.group(G).start().await.unwrap()
}
