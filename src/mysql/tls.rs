//! TLS for the MySQL connection, as the mysql client's `--ssl-mode` does it: `preferred` and
//! `required` encrypt without checking the certificate (MySQL servers generate their own at
//! first start, signed by nobody a client knows), `verify_ca` checks it against the CAs of
//! `LENDER_MYSQL_SSL_CA`, `verify_identity` checks its name too. The configuration is built
//! once at start-up, so an unreadable CA file is a start-up error, not a failed export.

use std::{fmt::Write as _, path::Path, sync::Arc};

use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
};
use sha2::{Digest, Sha256};

use crate::config::SslMode;

/// The TLS client configuration for `mode`, trusting the CAs in `ca` (a PEM file) when it
/// is given; `None` for `disabled`. A CA file given with `preferred` or `required` is used
/// too: whoever names a CA expects the certificate to be checked against it.
pub(super) fn client_config(
    mode: SslMode,
    ca: Option<&Path>,
) -> Result<Option<Arc<ClientConfig>>, String> {
    if mode == SslMode::Disabled {
        return Ok(None);
    }
    let provider = Arc::new(crypto_provider());
    let chain = match (mode, ca) {
        (SslMode::VerifyCa | SslMode::VerifyIdentity, None) => {
            return Err(format!(
                "LENDER_MYSQL_SSL_MODE={mode} checks the server's certificate against trusted CAs: set LENDER_MYSQL_SSL_CA to a PEM file of the CA that signed it"
            ));
        }
        (_, Some(ca)) => Some(Chain {
            webpki: WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(ca)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("LENDER_MYSQL_SSL_CA={}: {e}", ca.display()))?,
            ca: ca.display().to_string(),
            check_name: mode == SslMode::VerifyIdentity,
        }),
        (_, None) => None,
    };
    let verifier = Arc::new(Verifier {
        provider: provider.clone(),
        chain,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

/// rustls's ring provider: it builds with a C compiler alone (aws-lc-rs needs cmake), and
/// rustls deprecates it only for lacking post-quantum key exchange, which MySQL servers do
/// not offer either.
#[allow(deprecated)]
pub(super) fn crypto_provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The name TLS asks the server for: the host of the URL when it is a valid DNS name or IP
/// address, else a placeholder address (only `verify_identity` compares names, and it
/// fails then, naming the host).
pub(super) fn server_name(host: &str) -> ServerName<'static> {
    ServerName::try_from(host.to_owned())
        .unwrap_or_else(|_| ServerName::from(std::net::IpAddr::from([0, 0, 0, 0])))
}

fn roots(ca: &Path) -> Result<RootCertStore, String> {
    let named = |e: &dyn std::fmt::Display| format!("LENDER_MYSQL_SSL_CA={}: {e}", ca.display());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| named(&e))? {
        roots
            .add(cert.map_err(|e| named(&e))?)
            .map_err(|e| named(&e))?;
    }
    if roots.is_empty() {
        return Err(named(&"no certificate in the file"));
    }
    Ok(roots)
}

/// The server's certificate as the mode wants it checked. Without a chain to check (no CA:
/// `preferred` / `required`) any certificate passes, as with the mysql client in those modes;
/// the handshake's signatures are checked either way, so the channel is encrypted to whoever
/// holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Chain>,
}

/// `verify_ca` / `verify_identity`: the chain must end at a CA of the file; its name is
/// checked only for `verify_identity`. A refusal names the certificate (its SHA-256, as
/// `openssl x509 -fingerprint -sha256` prints it) and the CA file.
#[derive(Debug)]
struct Chain {
    webpki: Arc<WebPkiServerVerifier>,
    ca: String,
    check_name: bool,
}

impl Chain {
    fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.webpki
                .verify_server_cert(end_entity, intermediates, server_name, &[], now);
        let why = match verdict {
            Ok(verified) => return Ok(verified),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => return Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => format!(
                "does not name the host {} (LENDER_MYSQL_SSL_MODE=verify_identity)",
                server_name.to_str()
            ),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            )) => format!("is not signed by a CA in LENDER_MYSQL_SSL_CA={}", self.ca),
            Err(other) => format!("is refused: {other}"),
        };
        Err(rustls::Error::General(format!(
            "the server's certificate (SHA-256 {}) {why}",
            fingerprint(end_entity)
        )))
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.chain {
            Some(chain) => chain.verify(end_entity, intermediates, server_name, now),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A certificate's SHA-256 as colon-separated hex pairs.
pub(super) fn fingerprint(cert: &[u8]) -> String {
    let mut text = String::with_capacity(95);
    for (i, byte) in Sha256::digest(cert).iter().enumerate() {
        let sep = if i == 0 { "" } else { ":" };
        let _ = write!(text, "{sep}{byte:02X}");
    }
    text
}
