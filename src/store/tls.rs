//! TLS to PostgreSQL with rustls, with libpq's `sslmode` semantics.
//!
//! | sslmode | encrypted | certificate checked | falls back |
//! |---|---|---|---|
//! | `disable` | never | - | - |
//! | `allow` | when the server insists | no | plaintext first, TLS when refused |
//! | `prefer` (default) | when the server offers it | no | TLS first, plaintext when it fails |
//! | `require` | always | only when a root certificate is given, as libpq does | never |
//! | `verify-ca` | always | signed by `sslrootcert` | never |
//! | `verify-full` | always | signed by `sslrootcert` and naming the host | never |
//!
//! `require` and stronger never fall back, so a password the user asked to protect is never sent
//! in the clear. PostgreSQL speaks no TLS over Unix sockets; there every mode connects plainly,
//! as libpq does. `sslrootcert=system` trusts the platform's roots and, as in libpq, allows only
//! `verify-full`: a public authority signs certificates for anyone's host names.

use std::fmt;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub(crate) fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "`{other}` is not an sslmode (disable, allow, prefer, require, verify-ca or verify-full)"
                ))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the user asked for encryption: no connection goes on without it.
    pub fn requires_tls(self) -> bool {
        self >= SslMode::Require
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which authorities sign the server's certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCerts {
    /// PEM certificates in a file (`sslrootcert=/path`, or `~/.postgresql/root.crt`).
    File(PathBuf),
    /// The platform's trusted roots (`sslrootcert=system`).
    System,
}

impl fmt::Display for RootCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootCerts::File(path) => write!(f, "sslrootcert {}", path.display()),
            RootCerts::System => f.write_str("the system's trusted roots (sslrootcert=system)"),
        }
    }
}

/// A connection's TLS settings, resolved as libpq resolves them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root: Option<RootCerts>,
    /// Where libpq looks for a root certificate when none is named, for messages.
    pub default_root: Option<PathBuf>,
    /// A client certificate (PEM chain) and its key.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// TLS as tokio-postgres's own settings mean it: no certificate checked.
    pub fn unverified(mode: SslMode) -> TlsSettings {
        TlsSettings {
            mode,
            root: None,
            default_root: None,
            client: None,
        }
    }

    /// The connector for these settings; `None` when TLS is never used. Reads the certificate
    /// and key files now, so a wrong path fails before any connection.
    pub(crate) fn connector(&self) -> Result<Option<MakeRustlsConnect>, String> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.root, self.mode) {
            (None, SslMode::VerifyCa | SslMode::VerifyFull) => {
                let looked = match &self.default_root {
                    Some(path) => format!("; {} does not exist", path.display()),
                    None => String::new(),
                };
                return Err(format!(
                    "sslmode={} checks the server's certificate, which needs the authority that signed it: give sslrootcert=/path/to/ca.pem, or sslrootcert=system for the platform's trusted roots{looked}",
                    self.mode
                ));
            }
            (None, _) => Arc::new(WithoutName {
                provider: provider.clone(),
                chain: None,
            }),
            (Some(root), mode) => {
                let roots = Arc::new(load_roots(root)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|error| format!("cannot use {root}: {error}"))?;
                if mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(WithoutName {
                        provider: provider.clone(),
                        chain: Some(webpki),
                    })
                }
            }
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &self.client {
            Some((cert, key)) => {
                let chain = read_certificates(cert, "sslcert")?;
                check_key_permissions(key)?;
                let key_der = PrivateKeyDer::from_pem_file(key)
                    .map_err(|error| format!("cannot read sslkey {}: {error}", key.display()))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|error| format!("cannot use sslcert {}: {error}", cert.display()))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Some(MakeRustlsConnect::new(config)))
    }
}

fn load_roots(root: &RootCerts) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root {
        RootCerts::File(path) => {
            for cert in read_certificates(path, "sslrootcert")? {
                store
                    .add(cert)
                    .map_err(|error| format!("cannot use sslrootcert {}: {error}", path.display()))?;
            }
        }
        RootCerts::System => {
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if store.is_empty() {
                return Err(
                    "sslrootcert=system, but this system has no trusted root certificates (install ca-certificates)"
                        .to_owned(),
                );
            }
        }
    }
    Ok(store)
}

/// The PEM certificates in the file the setting `name` (`sslcert`, `sslrootcert`) gives; a file
/// that holds none is refused.
fn read_certificates(path: &Path, name: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read {name} {}: {error}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{name} {} holds no certificate", path.display()));
    }
    Ok(certs)
}

/// libpq refuses a private key that others may read: it would be no secret.
fn check_key_permissions(key: &Path) -> Result<(), String> {
    let metadata =
        fs::metadata(key).map_err(|error| format!("cannot read sslkey {}: {error}", key.display()))?;
    let mode = metadata.permissions().mode();
    let too_open = if metadata.uid() == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    };
    if too_open {
        return Err(format!(
            "sslkey {} has group or world access; it must have permissions u=rw (0600) or less (u=rw,g=r (0640) when owned by root)",
            key.display()
        ));
    }
    Ok(())
}

/// What went wrong checking the server's certificate, found in a connection error's causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CertificateProblem {
    /// No trusted authority signed it.
    Untrusted(String),
    /// It does not name the host connected to.
    WrongName(String),
    /// Expired, revoked or otherwise unacceptable.
    Other(String),
}

/// The certificate problem among `error`'s causes, if the TLS handshake failed over one.
pub(crate) fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<CertificateProblem> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        let tls = current.downcast_ref::<rustls::Error>().or_else(|| {
            current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(problem)) = tls {
            let text = problem.to_string();
            return Some(match problem {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    CertificateProblem::Untrusted(text)
                }
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    CertificateProblem::WrongName(text)
                }
                _ => CertificateProblem::Other(text),
            });
        }
        cause = current.source();
    }
    None
}

/// The checks below `verify-full`: the handshake's signatures always; the chain to a trusted
/// root only when there is one to check against (`verify-ca`, or `require` given a root
/// certificate); the names in the certificate never. Without a chain to check, this is
/// encryption without knowing who is at the other end, as libpq's `require` is.
#[derive(Debug)]
struct WithoutName {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for WithoutName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain before the name, so a name error means the chain was good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_order_by_strength() {
        for mode in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            assert_eq!(SslMode::parse(mode).unwrap().as_str(), mode);
        }
        assert!(SslMode::parse("verify_full").unwrap_err().contains("verify-full"));
        assert!(!SslMode::Prefer.requires_tls());
        assert!(SslMode::Require.requires_tls() && SslMode::VerifyFull.requires_tls());
    }

    #[test]
    fn verifying_needs_a_root_certificate() {
        let mut settings = TlsSettings::unverified(SslMode::VerifyFull);
        settings.default_root = Some(PathBuf::from("/h/.postgresql/root.crt"));
        let error = settings.connector().err().unwrap();
        assert!(
            error.contains("sslrootcert=/path/to/ca.pem")
                && error.contains("/h/.postgresql/root.crt does not exist"),
            "{error}"
        );
        assert!(TlsSettings::unverified(SslMode::Require)
            .connector()
            .unwrap()
            .is_some());
        assert!(TlsSettings::unverified(SslMode::Disable)
            .connector()
            .unwrap()
            .is_none());
    }

    #[test]
    fn unreadable_certificates_and_open_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = TlsSettings::unverified(SslMode::VerifyCa);
        settings.root = Some(RootCerts::File(dir.path().join("missing.pem")));
        assert!(settings.connector().err().unwrap().contains("missing.pem"));

        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "not a certificate\n").unwrap();
        settings.root = Some(RootCerts::File(empty));
        assert!(settings
            .connector()
            .err()
            .unwrap()
            .contains("holds no certificate"));

        let key = dir.path().join("client.key");
        fs::write(&key, "").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let error = check_key_permissions(&key).unwrap_err();
        assert!(error.contains("group or world access"), "{error}");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
        check_key_permissions(&key).unwrap();
    }
}
