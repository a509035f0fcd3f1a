//! Configuration from the builder and the environment.
#![allow(unused_crate_dependencies)] // a test target sees all its package's dependencies

use std::collections::HashMap;

use ban_facade::{ClientBuilder, ConfigError, TimEnv};

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
    // The unreadable file is named by the variable that gave it.
    assert!(
        matches!(&err, ConfigError::Named { name: "TIM_CA_CERT", error } if matches!(**error, ConfigError::File { .. })),
        "{err}"
    );

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

#[test]
fn the_environment_is_read_once_with_key_files_and_no_secret_in_debug() {
    let dir = std::env::temp_dir().join(format!("facade-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, "file-secret\n").unwrap();
    let path = key.to_str().unwrap();
    let env = TimEnv::from_vars(vars(&[
        ("TIM_SDKAPPID", "7"),
        ("TIM_SECRET_KEY_FILE", path),
        ("TIM_ADMIN", ""),
    ]));
    assert_eq!(env.sdkappid.as_deref(), Some("7"));
    assert_eq!(env.admin, None, "an empty variable counts as unset");
    let client = ClientBuilder::default().env(&env).unwrap().build().unwrap();
    assert_eq!(client.transport().endpoint(), "https://console.tim.qq.com");
    let env = TimEnv::from_vars(vars(&[("TIM_SECRET_KEY", "inline-secret")]));
    assert!(!format!("{env:?}").contains("inline-secret"));
    let err = ClientBuilder::from_vars(vars(&[
        ("TIM_SECRET_KEY", "k"),
        ("TIM_SECRET_KEY_FILE", path),
    ]))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("TIM_SECRET_KEY_FILE is given too; give one of them"),
        "{err}"
    );
    assert!(err.to_string().contains("<redacted>"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn settings_that_make_no_sense_are_refused_when_built() {
    let base = || ClientBuilder::default().sdkappid(1).secret_key("k");
    let cases = [
        (base().max_in_flight(0), "max_in_flight"),
        (
            base().usersig_policy(ban_facade::RenewPolicy::with_validity(0)),
            "usersig_policy.validity",
        ),
        (
            base().attempt_timeout(std::time::Duration::ZERO),
            "attempt_timeout is 0",
        ),
        (base().admin(""), "admin"),
    ];
    for (b, want) in cases {
        let err = b.build().unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn an_empty_list_of_invalid_members_displays() {
    let err = ban_facade::InputError::Members(Vec::new());
    assert_eq!(
        err.to_string(),
        "0 of the members are invalid, nothing was sent"
    );
}
