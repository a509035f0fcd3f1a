//! The logs and errors of a failing call hold neither the UserSig nor the key.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use ban_emulator::Emulator;
use ban_proto::{BanDuration, BanRequest, GroupId, MemberList};
use ban_sign::{SecretKey, Signer};
use ban_transport::{StaticCredentials, Transport};
use common::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_call_logs_no_secret() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = emulator(Emulator::builder()).await;
    const KEY: &str = "wrong-secret-key-that-must-not-leak";
    let sig = Signer::new(emu.sdkappid(), SecretKey::new(KEY)).sign(emu.admin(), emu.now(), 3600);
    let creds = StaticCredentials::new(emu.sdkappid(), emu.admin(), sig.clone());
    let t = Transport::builder(creds)
        .endpoint(emu.endpoint())
        .add_root_certificate_pem(emu.ca_cert_pem().unwrap())
        .unwrap()
        .build()
        .unwrap();
    let req = BanRequest {
        group_id: GroupId::new(G).unwrap(),
        members: MemberList::from_strs(&["a"]).unwrap(),
        duration: BanDuration::from_secs(60).unwrap(),
        description: None,
    };
    let err = t.call(&req).await.unwrap_err();
    assert_eq!(
        err.error_code(),
        Some(ban_proto::ErrorCode::UserSigVerifyFailed)
    );

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains(&format!("random={}", err.random)), "{logs}");
    assert!(logs.contains("70009"), "{logs}");
    let texts = [logs, err.to_string(), format!("{err:?}"), format!("{t:?}")];
    for text in texts {
        assert!(!text.contains(sig.expose()), "UserSig leaked: {text}");
        assert!(
            !text.contains(&sig.expose()[..20]),
            "UserSig prefix leaked: {text}"
        );
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(!text.contains("usersig="), "query leaked: {text}");
    }
}
