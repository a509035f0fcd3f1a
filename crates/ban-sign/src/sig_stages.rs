//! Each stage of the UserSig algorithm on its own.
use super::*;

/// The JSON inside a sig (stages 3 and 4 undone).
fn inner_json(sig: &str) -> Value {
    let compressed = decode_alphabet(sig).expect("alphabet");
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut json)
        .expect("zlib");
    serde_json::from_slice(&json).expect("json")
}

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

#[test]
fn stage1_content_string() {
    assert_eq!(
        content_string("administrator", 1400000000, 1700000000, 86400, None),
        "TLS.identifier:administrator\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:86400\n"
    );
    assert_eq!(
        content_string("a", 1, 2, 3, Some("YWJj")),
        "TLS.identifier:a\nTLS.sdkappid:1\nTLS.time:2\nTLS.expire:3\nTLS.userbuf:YWJj\n"
    );
}

#[test]
fn stage2_hmac_keyed_with_utf8_bytes() {
    // Known answer computed with Python's hmac module (key not hex-decoded).
    let content = content_string("administrator", 1400000000, 1700000000, 86400, None);
    assert_eq!(
        hmac_base64(&SecretKey::new(KEY), &content),
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
    );
}

#[test]
fn stage3_json_document() {
    let sig = Signer::new(1400000000, SecretKey::new(KEY)).sign("administrator", 1700000000, 86400);
    let doc = inner_json(sig.expose());
    assert_eq!(doc["TLS.ver"], "2.0");
    assert_eq!(doc["TLS.identifier"], "administrator");
    assert_eq!(doc["TLS.sdkappid"], 1400000000);
    assert_eq!(doc["TLS.time"], 1700000000);
    assert_eq!(doc["TLS.expire"], 86400);
    assert_eq!(
        doc["TLS.sig"],
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
    );
    assert!(doc.get("TLS.userbuf").is_none());
    let with_buf = Signer::new(1, SecretKey::new(KEY)).sign_with_userbuf("a", 2, 3, b"abc");
    assert_eq!(inner_json(with_buf.expose())["TLS.userbuf"], "YWJj");
}

#[test]
fn stage4_zlib_then_tencent_alphabet() {
    // 0xfb 0xff 0xbf is "+/+/" in standard base64: every substitution shows.
    assert_eq!(encode_alphabet(&[0xfb, 0xff, 0xbf]), "*-*-");
    assert_eq!(encode_alphabet(b"a"), "YQ__");
    let sig = Signer::new(1, SecretKey::new(KEY)).sign("x", 1, 1);
    assert!(
        sig.expose().starts_with("eJ"),
        "zlib header 0x78 0x9c -> eJ"
    );
    assert!(sig
        .expose()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "*-_".contains(c)));
}
