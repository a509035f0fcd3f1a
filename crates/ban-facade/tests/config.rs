//! Configuration from the builder and the environment.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::collections::HashMap;

use ban_facade::{ClientBuilder, ConfigError};

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn environment_is_read_and_checked() {
    let b = ClientBuilder::from_vars(vars(&[
        ("TIM_SDKAPPID", "1400000000"),
        ("TIM_SECRET_KEY", "k"),
        ("TIM_REGION", "singapore"),
    ]))
    .unwrap();
    let client = b.build().unwrap();
    assert_eq!(
        client.transport().endpoint(),
        "https://adminapisgp.im.qcloud.com"
    );

    let err = ClientBuilder::from_vars(vars(&[("TIM_SDKAPPID", "abc")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TIM_SDKAPPID is \"abc\": it must be a positive integer"
    );
    let err = ClientBuilder::from_vars(vars(&[("TIM_REGION", "mars")])).unwrap_err();
    assert!(
        err.to_string().contains("region \"mars\" is unknown"),
        "{err}"
    );
    let err =
        ClientBuilder::from_vars(vars(&[("TIM_CA_CERT", "/nonexistent/ca.pem")])).unwrap_err();
    assert!(matches!(err, ConfigError::File { .. }), "{err}");

    let err = ClientBuilder::from_vars(vars(&[("TIM_SECRET_KEY", "k")]))
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SDKAppID is missing; set TIM_SDKAPPID or pass it to the builder"
    );
    let err = ClientBuilder::from_vars(vars(&[("TIM_SDKAPPID", "1")]))
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret key is missing; set TIM_SECRET_KEY or pass it to the builder"
    );
    let err = ClientBuilder::from_vars(vars(&[
        ("TIM_SDKAPPID", "1"),
        ("TIM_SECRET_KEY", "k"),
        ("TIM_ENDPOINT", "http://127.0.0.1:1"),
    ]))
    .unwrap()
    .build()
    .unwrap_err();
    assert!(err.to_string().contains("plain HTTP"), "{err}");
}

#[test]
fn debug_output_holds_no_secret() {
    let b = ClientBuilder::from_vars(vars(&[
        ("TIM_SDKAPPID", "1"),
        ("TIM_SECRET_KEY", "super-secret-value"),
    ]))
    .unwrap();
    let text = format!("{b:?}");
    assert!(!text.contains("super-secret-value"), "{text}");
    let client = b.build().unwrap();
    let sig = client.usersig();
    let text = format!("{client:?}");
    assert!(!text.contains("super-secret-value"), "{text}");
    assert!(!text.contains(sig.expose()), "{text}");
}
