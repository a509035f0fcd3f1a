//! Settings as named layers (smithy-rs's `ConfigBag` idea): a [`Layer`]
//! holds what one source gives (the environment, a command line, a file),
//! each setting beside the name of where it came from (`--sdkappid`,
//! `TIM_SDKAPPID`). Layers are stacked with [`Layer::over`], field by
//! field, and applied once with [`ClientBuilder::layer`], so a rule (two
//! ways of giving the key in one layer, an empty endpoint) lives in one
//! place, and an error names the source of the value it refuses.
//!
//! ```
//! use ban_facade::{ClientBuilder, Layer, TimEnv};
//!
//! let env = TimEnv::from_vars(|k| (k == "TIM_SDKAPPID").then(|| "1400000000".to_owned()));
//! let flags = Layer::default().with_secret_key("--secret-key", "key")
//!     .with_admin("--admin", "ops");
//! let settings = flags.over(Layer::env(&env)?);
//! assert_eq!(settings.sdkappid.as_ref().unwrap().source, "TIM_SDKAPPID");
//! let client = ClientBuilder::default().layer(&settings)?.build()?;
//! assert_eq!(client.transport().sdkappid(), 1400000000);
//! # Ok::<(), ban_facade::ConfigError>(())
//! ```

use std::path::PathBuf;

use ban_sign::SecretKey;

use crate::config::{
    parse_region, parse_sdkappid, read_secret_key_file, ClientBuilder, ConfigError, TimEnv,
};

/// A setting and the name of where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sourced<T> {
    /// The value as given.
    pub value: T,
    /// Where it came from: a flag (`--sdkappid`), a variable
    /// (`TIM_SDKAPPID`), a file's key.
    pub source: &'static str,
}

impl<T> Sourced<T> {
    /// `value`, given by `source`.
    pub fn new(source: &'static str, value: T) -> Self {
        Sourced { value, source }
    }
}

/// The secret key as a layer gives it: the key itself, or a file holding
/// it (read only if this layer's key is the one used).
#[derive(Clone)]
#[non_exhaustive]
pub enum KeyGiven {
    /// The key.
    Key(SecretKey),
    /// A file whose first line is the key.
    File(PathBuf),
}

impl std::fmt::Debug for KeyGiven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyGiven::Key(_) => f.write_str("Key(<redacted>)"),
            KeyGiven::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

/// One layer of a client's settings: each optional, each with its source.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Layer {
    /// The SDKAppID, as given (parsed when applied).
    pub sdkappid: Option<Sourced<String>>,
    /// The secret key, or the file holding it.
    pub secret_key: Option<Sourced<KeyGiven>>,
    /// The admin identifier.
    pub admin: Option<Sourced<String>>,
    /// The region, as given (parsed when applied).
    pub region: Option<Sourced<String>>,
    /// A custom base URL.
    pub endpoint: Option<Sourced<String>>,
    /// A PEM file of CA certificates to trust.
    pub ca_cert: Option<Sourced<PathBuf>>,
}

impl Layer {
    /// The layer of the `TIM_*` variables. Both `TIM_SECRET_KEY` and
    /// `TIM_SECRET_KEY_FILE` set is refused.
    pub fn env(env: &TimEnv) -> Result<Layer, ConfigError> {
        let src =
            |source: &'static str, v: &Option<String>| v.clone().map(|v| Sourced::new(source, v));
        Ok(Layer {
            sdkappid: src("TIM_SDKAPPID", &env.sdkappid),
            secret_key: Layer::one_key(
                env.secret_key
                    .clone()
                    .map(|k| Sourced::new("TIM_SECRET_KEY", k)),
                env.secret_key_file
                    .clone()
                    .map(|p| Sourced::new("TIM_SECRET_KEY_FILE", p)),
            )?,
            admin: src("TIM_ADMIN", &env.admin),
            region: src("TIM_REGION", &env.region),
            endpoint: src("TIM_ENDPOINT", &env.endpoint),
            ca_cert: env.ca_cert.clone().map(|p| Sourced::new("TIM_CA_CERT", p)),
        })
    }

    /// The one rule of a layer's secret key: the key or a file holding it,
    /// not both (which one was meant is not known).
    pub fn one_key(
        key: Option<Sourced<SecretKey>>,
        file: Option<Sourced<PathBuf>>,
    ) -> Result<Option<Sourced<KeyGiven>>, ConfigError> {
        match (key, file) {
            (Some(k), Some(f)) => Err(ConfigError::Invalid {
                field: k.source,
                given: "<redacted>".into(),
                reason: format!("{} is given too; give one of them", f.source),
            }),
            (Some(k), None) => Ok(Some(Sourced::new(k.source, KeyGiven::Key(k.value)))),
            (None, Some(f)) => Ok(Some(Sourced::new(f.source, KeyGiven::File(f.value)))),
            (None, None) => Ok(None),
        }
    }

    /// This layer over `lower`: each setting from this layer when it has
    /// one, else from `lower`.
    pub fn over(self, lower: Layer) -> Layer {
        Layer {
            sdkappid: self.sdkappid.or(lower.sdkappid),
            secret_key: self.secret_key.or(lower.secret_key),
            admin: self.admin.or(lower.admin),
            region: self.region.or(lower.region),
            endpoint: self.endpoint.or(lower.endpoint),
            ca_cert: self.ca_cert.or(lower.ca_cert),
        }
    }

    /// With the secret key given by `source`.
    pub fn with_secret_key(mut self, source: &'static str, key: impl Into<String>) -> Self {
        self.secret_key = Some(Sourced::new(source, KeyGiven::Key(SecretKey::new(key))));
        self
    }

    /// With the admin identifier given by `source`.
    pub fn with_admin(mut self, source: &'static str, admin: impl Into<String>) -> Self {
        self.admin = Some(Sourced::new(source, admin.into()));
        self
    }

    /// The SDKAppID, parsed, when the layer has one (an error names its
    /// source).
    pub fn parsed_sdkappid(&self) -> Result<Option<u64>, ConfigError> {
        self.sdkappid
            .as_ref()
            .map(|s| parse_sdkappid(s.source, &s.value))
            .transpose()
    }

    /// The secret key, read from its file when the layer gives a file (an
    /// error names its source).
    pub fn read_secret_key(&self) -> Result<Option<SecretKey>, ConfigError> {
        match &self.secret_key {
            None => Ok(None),
            Some(Sourced {
                value: KeyGiven::Key(k),
                ..
            }) => Ok(Some(k.clone())),
            Some(Sourced {
                value: KeyGiven::File(path),
                source,
            }) => read_secret_key_file(path)
                .map(Some)
                .map_err(|e| ConfigError::Named {
                    name: source,
                    error: Box::new(e),
                }),
        }
    }
}

impl ClientBuilder {
    /// Applies what `layer` holds (stack layers with [`Layer::over`]
    /// first): an SDKAppID or region that does not parse, an unreadable key
    /// or CA file, an empty endpoint are refused naming their source.
    pub fn layer(mut self, layer: &Layer) -> Result<Self, ConfigError> {
        if let Some(id) = layer.parsed_sdkappid()? {
            self = self.sdkappid(id);
        }
        if let Some(key) = layer.read_secret_key()? {
            self = self.secret(key);
        }
        if let Some(admin) = &layer.admin {
            self = self.admin(admin.value.clone());
        }
        if let Some(r) = &layer.region {
            self = self.region(parse_region(r.source, &r.value)?);
        }
        if let Some(e) = &layer.endpoint {
            if e.value.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    field: e.source,
                    given: e.value.clone(),
                    reason: "it is empty; give the base URL (https://…), or leave it unset for the region's host".into(),
                });
            }
            self = self.endpoint(e.value.clone());
        }
        if let Some(ca) = &layer.ca_cert {
            self = self
                .ca_cert_file(&ca.value.to_string_lossy())
                .map_err(|e| ConfigError::Named {
                    name: ca.source,
                    error: Box::new(e),
                })?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> TimEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TimEnv::from_vars(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_upper_layer_wins_field_by_field_and_errors_name_the_source() {
        let lower = Layer::env(&env(&[("TIM_SDKAPPID", "12"), ("TIM_ADMIN", "env")])).unwrap();
        let upper = Layer {
            sdkappid: Some(Sourced::new("--sdkappid", "x1".into())),
            ..Layer::default()
        };
        let both = upper.over(lower.clone());
        assert_eq!(both.admin.as_ref().unwrap().source, "TIM_ADMIN");
        let e = both.parsed_sdkappid().unwrap_err().to_string();
        assert!(e.starts_with("--sdkappid is \"x1\""), "{e}");
        assert_eq!(lower.parsed_sdkappid().unwrap(), Some(12));
    }

    #[test]
    fn key_and_key_file_in_one_layer_are_refused_by_their_names() {
        let e = Layer::env(&env(&[
            ("TIM_SECRET_KEY", "k"),
            ("TIM_SECRET_KEY_FILE", "/nonexistent"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("TIM_SECRET_KEY") && e.contains("TIM_SECRET_KEY_FILE is given too"),
            "{e}"
        );
        assert!(!e.contains("\"k\""), "the key is never quoted: {e}");
        // A file in a lower layer is never read when an upper one gives a key.
        let lower = Layer::env(&env(&[("TIM_SECRET_KEY_FILE", "/nonexistent")])).unwrap();
        let key = Layer::default()
            .with_secret_key("--secret-key", "k")
            .over(lower.clone());
        assert!(key.read_secret_key().unwrap().is_some());
        let e = ban_transport::error_chain(&lower.read_secret_key().unwrap_err());
        assert!(
            e.starts_with("TIM_SECRET_KEY_FILE: cannot read /nonexistent"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_endpoint_is_refused_not_taken_for_production() {
        let layer = Layer {
            endpoint: Some(Sourced::new("--endpoint", " ".into())),
            ..Layer::default()
        };
        let e = ClientBuilder::default()
            .layer(&layer)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--endpoint is \" \": it is empty"), "{e}");
    }
}
