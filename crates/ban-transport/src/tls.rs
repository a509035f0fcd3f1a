//! The one rustls client configuration of the workspace, with the crypto
//! provider chosen by feature (`ring`, the default, or `aws-lc-rs`) and
//! handed to the config rather than installed process-wide.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::error::BuildError;

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "ban-transport needs a rustls crypto provider: the `ring` (default) or `aws-lc-rs` feature"
);

/// The crypto provider this build uses: ring when the `ring` feature is on
/// (the default), else aws-lc-rs.
pub(crate) fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "ring")]
    let provider = rustls::crypto::ring::default_provider();
    #[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    Arc::new(provider)
}

/// Reads every certificate of a PEM text; refuses text that holds none.
pub(crate) fn certificates_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BuildError::certificate("PEM not readable", e))?;
    if certs.is_empty() {
        return Err(BuildError::certificate_msg(
            "the PEM text holds no certificate",
        ));
    }
    Ok(certs)
}

/// A client configuration trusting the webpki roots (when `webpki` is
/// true) and `extra` roots, TLS 1.2 and 1.3, no client certificate.
pub(crate) fn client_config(
    webpki: bool,
    extra: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, BuildError> {
    let mut roots = rustls::RootCertStore::empty();
    if webpki {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in extra {
        roots
            .add(cert)
            .map_err(|e| BuildError::certificate("root certificate rejected", e))?;
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::certificate("the TLS versions cannot be used", e))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}
