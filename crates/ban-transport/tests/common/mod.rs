//! Shared setup: an emulator and a transport signed by ban-sign.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ban_emulator::{Emulator, EmulatorBuilder};
use ban_proto::UserSig;
use ban_sign::{CachedSigner, RenewPolicy, Signer};
use ban_transport::{Credentials, CredentialsError, RetryPolicy, Transport, TransportBuilder};

pub const G: &str = "@TGS#aTRANSPORT";

pub struct SignerCredentials(pub CachedSigner);

impl Credentials for SignerCredentials {
    fn sdkappid(&self) -> u64 {
        self.0.sdkappid()
    }
    fn identifier(&self) -> &str {
        self.0.identifier()
    }
    fn usersig(&self) -> Result<UserSig, CredentialsError> {
        Ok(self.0.usersig())
    }
}

pub fn credentials(emu: &Emulator) -> SignerCredentials {
    let signer = Signer::new(emu.sdkappid(), emu.secret_key().clone());
    SignerCredentials(CachedSigner::new(
        emu.admin(),
        signer,
        RenewPolicy::default(),
    ))
}

pub fn builder(emu: &Emulator) -> TransportBuilder {
    let b = Transport::builder_shared(Arc::new(credentials(emu)))
        .endpoint(emu.endpoint())
        .webpki_roots(false)
        .retry(RetryPolicy {
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            throttle_backoff: Duration::from_millis(100),
            deadline: Duration::from_secs(10),
            max_attempts: 8,
        });
    match emu.ca_cert_pem() {
        Some(pem) => b.add_root_certificate_pem(pem).unwrap(),
        None => b.danger_allow_plain_http(true),
    }
}

pub async fn emulator(b: EmulatorBuilder) -> Emulator {
    b.group(G).start().await.unwrap()
}
