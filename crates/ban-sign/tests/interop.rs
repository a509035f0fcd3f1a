//! Interop with Tencent's official libraries, both directions, using the
//! committed fixtures made by the official Python and Node packages
//! (`fixtures/regen.sh` regenerates them).
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

mod common;

use ban_sign::{
    decode, private_map_key_userbuf, MalformedStage, Room, SecretKey, Signer, VerifyError,
};
use base64::Engine;
use common::inner_json;
use serde_json::Value;

struct Fixture {
    raw: Value,
}

impl Fixture {
    fn str(&self, k: &str) -> &str {
        self.raw[k].as_str().unwrap()
    }
    fn u64(&self, k: &str) -> u64 {
        self.raw[k].as_u64().unwrap()
    }
    fn signer(&self) -> Signer {
        Signer::new(self.u64("sdkappid"), SecretKey::new(self.str("key")))
    }
    fn name(&self) -> String {
        format!(
            "{} {} {}",
            self.str("source"),
            self.str("identifier"),
            self.str("sig")
        )
    }
}

fn fixtures() -> Vec<Fixture> {
    let mut all = Vec::new();
    for text in [
        include_str!("fixtures/python.json"),
        include_str!("fixtures/node.json"),
    ] {
        let list: Vec<Value> = serde_json::from_str(text).unwrap();
        all.extend(list.into_iter().map(|raw| Fixture { raw }));
    }
    assert!(all.len() >= 15, "fixtures missing");
    all
}

#[test]
fn accepts_every_official_sig_with_the_matching_clock() {
    for f in fixtures() {
        let (time, expire) = (f.u64("time"), f.u64("expire"));
        for now in [time, time + expire] {
            let claims = f
                .signer()
                .verify(f.str("sig"), f.str("identifier"), now)
                .unwrap_or_else(|e| panic!("{}: {e}", f.name()));
            assert_eq!(claims.identifier, f.str("identifier"));
            assert_eq!(claims.time, time);
            assert_eq!(claims.expire, expire);
            assert_eq!(claims.version, "2.0");
        }
    }
}

#[test]
fn rejects_each_alteration_of_an_official_sig() {
    for f in fixtures() {
        let (sig, id, now) = (f.str("sig"), f.str("identifier"), f.u64("time"));
        let signer = f.signer();

        // One character changed, at several places: never accepted.
        for pos in [0, sig.len() / 3, sig.len() / 2, sig.len() - 3] {
            let mut chars: Vec<char> = sig.chars().collect();
            chars[pos] = if chars[pos] == 'A' { 'B' } else { 'A' };
            let tampered: String = chars.into_iter().collect();
            assert!(
                signer.verify(&tampered, id, now).is_err(),
                "{} tampered at {pos}",
                f.name()
            );
        }

        let wrong_key = Signer::new(f.u64("sdkappid"), SecretKey::new("not-the-key"));
        assert_eq!(
            wrong_key.verify(sig, id, now),
            Err(VerifyError::BadSignature),
            "{}",
            f.name()
        );

        let err = signer.verify(sig, "someone-else", now).unwrap_err();
        assert!(
            matches!(err, VerifyError::IdentifierMismatch { .. }),
            "{}: {err}",
            f.name()
        );

        let other_app = Signer::new(f.u64("sdkappid") + 1, SecretKey::new(f.str("key")));
        let err = other_app.verify(sig, id, now).unwrap_err();
        assert!(
            matches!(err, VerifyError::SdkAppIdMismatch { .. }),
            "{}: {err}",
            f.name()
        );

        let late = f.u64("time") + f.u64("expire") + 1;
        let err = signer.verify(sig, id, late).unwrap_err();
        assert!(
            matches!(err, VerifyError::Expired { by: 1, .. }),
            "{}: {err}",
            f.name()
        );
    }
}

#[test]
fn our_generator_matches_official_claims_and_hmac() {
    for f in fixtures() {
        let signer = f.signer();
        let (id, time, expire) = (f.str("identifier"), f.u64("time"), f.u64("expire"));
        let ours = match f.raw.get("kind").and_then(Value::as_str) {
            None | Some("usersig") => match f.raw["userbuf_b64"].as_str() {
                None => signer.sign(id, time, expire),
                Some(b) => {
                    let buf = base64::engine::general_purpose::STANDARD.decode(b).unwrap();
                    signer.sign_with_userbuf(id, time, expire, &buf)
                }
            },
            Some("private_map_key") => {
                let room = Room::Numeric(f.u64("room") as u32);
                signer
                    .private_map_key(id, time, expire, &room, f.u64("privilege") as u32)
                    .unwrap()
            }
            Some("private_map_key_str") => {
                let room = Room::Named(f.str("room").to_owned());
                signer
                    .private_map_key(id, time, expire, &room, f.u64("privilege") as u32)
                    .unwrap()
            }
            Some(other) => panic!("unknown fixture kind {other}"),
        };
        let official = inner_json(f.str("sig"));
        let mine = inner_json(ours.expose());
        assert_eq!(mine, official, "{}", f.name());
        assert_eq!(mine["TLS.sig"], official["TLS.sig"], "{}", f.name());
        assert_eq!(
            decode(ours.expose()).unwrap(),
            decode(f.str("sig")).unwrap()
        );
    }
}

#[test]
fn private_map_key_userbuf_matches_official_layout() {
    let mut seen = 0;
    for f in fixtures() {
        let room = match f.raw.get("kind").and_then(Value::as_str) {
            Some("private_map_key") => Room::Numeric(f.u64("room") as u32),
            Some("private_map_key_str") => Room::Named(f.str("room").to_owned()),
            _ => continue,
        };
        let expire_at = f.u64("time") + f.u64("expire");
        let buf = private_map_key_userbuf(
            f.str("identifier"),
            f.u64("sdkappid"),
            &room,
            expire_at,
            f.u64("privilege") as u32,
        )
        .unwrap();
        let official = decode(f.str("sig")).unwrap().userbuf.unwrap();
        assert_eq!(buf, official, "{}", f.name());
        seen += 1;
    }
    assert_eq!(seen, 3);
}

#[test]
fn malformed_sigs_say_which_stage() {
    let stage = |sig: &str| match decode(sig) {
        Err(VerifyError::Malformed { stage, .. }) => stage,
        other => panic!("{sig:?}: {other:?}"),
    };
    assert_eq!(stage("abc%def"), MalformedStage::Alphabet);
    assert_eq!(stage("A"), MalformedStage::Base64);
    assert_eq!(stage("AAAA"), MalformedStage::Zlib);
    let zjson = |s: &str| {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(s.as_bytes()).unwrap();
        // Tencent's alphabet, written out here (the crate keeps its own private).
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .encode(z.finish().unwrap())
            .replace('+', "*")
            .replace('/', "-")
            .replace('=', "_")
    };
    assert_eq!(stage(&zjson("not json")), MalformedStage::Json);
    assert_eq!(stage(&zjson("[1]")), MalformedStage::Json);
    assert_eq!(
        stage(&zjson(
            r#"{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.time":1}"#
        )),
        MalformedStage::MissingField
    );
    assert_eq!(
        stage(&zjson(
            r#"{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":-1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"x"}"#
        )),
        MalformedStage::Json
    );
}
