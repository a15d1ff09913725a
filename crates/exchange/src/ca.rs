//! The platform's own certificate authority for the gateway's mutual TLS (ADR 0009). It
//! issues client certificates to subsystems, preferably from a certificate signing request
//! (PKCS #10) so the private key never leaves the agency, and the TLS listener's server
//! certificate when the operator configures none.
//!
//! A client certificate names exactly one subsystem, twice: the subject common name is the
//! identifier in its `X-Road-Client` form (`VN/GOV/BTP/civil`), and a subject alternative
//! name URI says the same as `urn:xroad:VN/GOV/BTP/civil` for software that reads SANs only.
//! The gateway does not parse either: it looks the certificate's SHA-256 fingerprint up in
//! the table of issued certificates, so a certificate counts only while that table says so.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertificateSigningRequestParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::catalog::ExchangeError;
use crate::ids::SubsystemId;

const KEY_FILE: &str = "ca.key";
const CERT_FILE: &str = "ca.pem";
/// The CA certificate's lifetime; client certificates live at most `MAX_DAYS`.
const CA_YEARS: i64 = 10;
pub const MAX_DAYS: u32 = 825;
pub const DEFAULT_DAYS: u32 = 365;

/// Where the subject's public key comes from.
pub enum SubjectKey<'a> {
    /// A PKCS #10 request in PEM: the agency keeps its private key.
    Csr(&'a str),
    /// A fresh P-256 key pair made here and handed out once (demos and tests).
    Generate,
}

/// A certificate just issued.
pub struct Issued {
    /// Hex, as in the table and in `revoke-cert`.
    pub serial: String,
    /// Lowercase hex SHA-256 of the DER certificate.
    pub fingerprint: String,
    pub certificate_pem: String,
    /// Only for [`SubjectKey::Generate`]: PKCS #8 PEM. Never stored or logged.
    pub private_key_pem: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A revoked certificate as a certificate revocation list names it.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// Hex, as in the table.
    pub serial: String,
    pub revoked_at: OffsetDateTime,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("serial", &self.serial)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    certificate_pem: String,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

/// A CSR the authority refuses, saying why.
fn bad_csr(key: &'static str) -> ExchangeError {
    ExchangeError::invalid("csr", kernel::Message::new(key))
}

/// The authority itself failed (files, keys, signing): for the operator's log.
pub(crate) fn failed(what: &str, reason: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::authority(what, reason)
}

/// Lowercase hex SHA-256 of a DER certificate: how the gateway recognises a certificate.
pub fn fingerprint(der: &[u8]) -> String {
    hex(&Sha256::digest(der))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// 128 random bits, made positive and non-zero in the first octet (RFC 5280 §4.1.2.2:
/// positive, unique per CA, at most 20 octets).
fn random_serial() -> (SerialNumber, String) {
    let mut bytes = uuid::Uuid::new_v4().into_bytes();
    let random_tail = *uuid::Uuid::new_v4().as_bytes();
    // A v4 UUID fixes six bits; mixing in a second one keeps all 128 bits random.
    for (b, r) in bytes.iter_mut().zip(random_tail.iter().rev()) {
        *b ^= r;
    }
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    (SerialNumber::from_slice(&bytes), hex(&bytes))
}

impl CertificateAuthority {
    /// Loads the CA from `dir` (`ca.key`, `ca.pem`), creating both on first use. The key file
    /// is readable by the owner only.
    pub fn load_or_create(dir: &Path) -> Result<Self, ExchangeError> {
        let field = "exchange_ca";
        if dir.join(KEY_FILE).exists() {
            return Self::load(dir);
        }
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .map_err(|e| failed(field, format!("creating {}: {e}", parent.display())))?;
        // Both files are written into a private scratch directory that is then renamed into
        // place, so a concurrent first use never pairs one process's key with another's cert.
        let scratch: PathBuf = parent.join(format!(".exchange-ca-{}", uuid::Uuid::new_v4()));
        let created = Self::generate()?;
        let write = || -> std::io::Result<()> {
            create_private_dir(&scratch)?;
            store::keyfile::create_private(
                &scratch.join(KEY_FILE),
                created.issuer.key().serialize_pem().as_bytes(),
            )?;
            std::fs::write(scratch.join(CERT_FILE), &created.certificate_pem)?;
            std::fs::rename(&scratch, dir)
        };
        match write() {
            Ok(()) => {
                tracing::info!(path = %dir.display(), "created the exchange certificate authority");
                Ok(created)
            }
            Err(_) if dir.join(KEY_FILE).exists() => {
                let _scratch_left_behind = std::fs::remove_dir_all(&scratch);
                Self::load(dir)
            }
            Err(error) => {
                let _scratch_left_behind = std::fs::remove_dir_all(&scratch);
                Err(failed(
                    field,
                    format!("creating {}: {error}", dir.display()),
                ))
            }
        }
    }

    fn load(dir: &Path) -> Result<Self, ExchangeError> {
        let field = "exchange_ca";
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| failed(field, format!("reading {}: {e}", path.display())))
        };
        let key = KeyPair::from_pem(&read(KEY_FILE)?).map_err(|e| {
            failed(
                field,
                format!("{} is not a private key: {e}", dir.join(KEY_FILE).display()),
            )
        })?;
        let certificate_pem = read(CERT_FILE)?;
        let certificate_der = pem_der(&certificate_pem, "CERTIFICATE").ok_or_else(|| {
            failed(
                field,
                format!("{} holds no certificate", dir.join(CERT_FILE).display()),
            )
        })?;
        let issuer = Issuer::from_ca_cert_pem(&certificate_pem, key)
            .map_err(|e| failed(field, format!("{}: {e}", dir.join(CERT_FILE).display())))?;
        Ok(Self {
            issuer,
            certificate_pem,
            certificate_der,
        })
    }

    fn generate() -> Result<Self, ExchangeError> {
        let field = "exchange_ca";
        let key = KeyPair::generate().map_err(|e| failed(field, e))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "lienthong exchange CA");
        name.push(DnType::OrganizationName, "lienthong");
        params.distinguished_name = name;
        // Only end-entity certificates below it (RFC 5280 §4.2.1.9 pathLenConstraint 0).
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(365 * CA_YEARS);
        params.serial_number = Some(random_serial().0);
        let certificate = params.self_signed(&key).map_err(|e| failed(field, e))?;
        Ok(Self {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM: what clients trust for the server and what the TLS listener
    /// trusts for clients.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The CA key as a signer of OCSP answers. The CA's keys are P-256 (rcgen's default).
    pub(crate) fn ocsp_signer(&self) -> Result<p256::ecdsa::SigningKey, ExchangeError> {
        use p256::pkcs8::DecodePrivateKey;
        p256::ecdsa::SigningKey::from_pkcs8_der(&self.issuer.key().serialize_der())
            .map_err(|e| failed("exchange_ca", format!("the CA key is not P-256: {e}")))
    }

    /// A client certificate for `subsystem`, valid from `not_before` to `not_after`.
    /// Whatever names a CSR asks for are ignored: the certificate names the subsystem only.
    pub fn issue(
        &self,
        subsystem: &SubsystemId,
        key: SubjectKey<'_>,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Issued, ExchangeError> {
        if not_after <= not_before {
            return Err(ExchangeError::invalid(
                "days",
                kernel::Message::new("csr.ends_before_start"),
            ));
        }
        let id = subsystem.to_string();
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, id.as_str());
        params.distinguished_name = name;
        let uri = format!("urn:xroad:{id}");
        params.subject_alt_names = vec![SanType::URI(uri.clone().try_into().map_err(|_| {
            ExchangeError::invalid(
                "subsystem",
                kernel::Message::new("csr.subsystem_ascii").with("found", format!("{id:?}")),
            )
        })?)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let (serial_number, serial) = random_serial();
        params.serial_number = Some(serial_number);
        let (certificate, private_key_pem) = match key {
            SubjectKey::Csr(pem) => {
                let request = parse_csr(pem)?;
                let certificate = params
                    .signed_by(&request.public_key, &self.issuer)
                    .map_err(|e| {
                        ExchangeError::invalid(
                            "csr",
                            kernel::Message::new("csr.unreadable").with("reason", e),
                        )
                    })?;
                (certificate, None)
            }
            SubjectKey::Generate => {
                let key = KeyPair::generate().map_err(|e| failed("key", e))?;
                let certificate = params
                    .signed_by(&key, &self.issuer)
                    .map_err(|e| failed("key", e))?;
                (certificate, Some(key.serialize_pem()))
            }
        };
        Ok(Issued {
            serial,
            fingerprint: fingerprint(certificate.der()),
            certificate_pem: certificate.pem(),
            private_key_pem,
            not_before,
            not_after,
        })
    }

    /// A certificate revocation list (RFC 5280 §5) naming every serial in `revoked`, signed
    /// by this CA, for relying parties other than the gateway (which reads the table). Its
    /// CRL number is `this_update` in seconds since 1970, so it grows with every list made.
    pub fn revocation_list(
        &self,
        revoked: &[Revocation],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Vec<u8>, ExchangeError> {
        let field = "revocation list";
        let revoked_certs = revoked
            .iter()
            .map(|entry| {
                let serial = unhex(&entry.serial).ok_or_else(|| {
                    failed(
                        field,
                        format!("stored serial {:?} is not hex", entry.serial),
                    )
                })?;
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&serial),
                    revocation_time: entry.revoked_at,
                    reason_code: None,
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, ExchangeError>>()?;
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(
                u64::try_from(this_update.unix_timestamp()).unwrap_or(0),
            ),
            issuing_distribution_point: None,
            revoked_certs,
            // The CA certificate made in `generate` identifies its key the same way, so the
            // list's authority key identifier matches the certificate's subject key identifier.
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let list = params
            .signed_by(&self.issuer)
            .map_err(|e| failed(field, e))?;
        Ok(list.der().to_vec())
    }

    /// A server certificate for the TLS listener with these DNS names or IP addresses, and
    /// its key, both PEM. Made afresh at each start when the operator configures none.
    pub fn issue_server(&self, names: &[&str]) -> Result<(String, String), ExchangeError> {
        let field = "tls_cert";
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        params.distinguished_name = name;
        for name in names {
            params.subject_alt_names.push(match name.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().map_err(|e| failed(field, e))?),
            });
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(i64::from(DEFAULT_DAYS));
        params.serial_number = Some(random_serial().0);
        let key = KeyPair::generate().map_err(|e| failed(field, e))?;
        let certificate = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| failed(field, e))?;
        Ok((certificate.pem(), key.serialize_pem()))
    }
}

/// Parses and verifies (the request's self-signature, RFC 2986 §3) a PEM CSR.
fn parse_csr(pem: &str) -> Result<CertificateSigningRequestParams, ExchangeError> {
    if !pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        return Err(bad_csr("csr.not_pem"));
    }
    CertificateSigningRequestParams::from_pem(pem).map_err(|e| match e {
        rcgen::Error::InvalidCertificationRequestSignature => bad_csr("csr.signature"),
        rcgen::Error::UnsupportedExtension => bad_csr("csr.extension"),
        other => ExchangeError::invalid(
            "csr",
            kernel::Message::new("csr.unreadable").with("reason", other),
        ),
    })
}

/// The DER bytes of the first PEM block labelled `label`.
fn pem_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let rest = pem.get(start..)?;
    let body: String = rest
        .get(..rest.find(&end)?)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subsystem() -> SubsystemId {
        SubsystemId::parse("VN/GOV/BTP/civil").unwrap()
    }

    fn window() -> (OffsetDateTime, OffsetDateTime) {
        let now = OffsetDateTime::now_utc();
        (now, now + Duration::days(30))
    }

    #[test]
    fn created_once_then_loaded_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exchange-ca");
        let first = CertificateAuthority::load_or_create(&path).unwrap();
        let again = CertificateAuthority::load_or_create(&path).unwrap();
        assert_eq!(first.certificate_pem(), again.certificate_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the CA key must be private");
        }
        let (from, to) = window();
        let issued = again
            .issue(&subsystem(), SubjectKey::Generate, from, to)
            .unwrap();
        assert_eq!(issued.serial.len(), 32);
        assert_eq!(issued.fingerprint.len(), 64);
        assert!(issued.private_key_pem.is_some());
    }

    #[test]
    fn issues_from_a_csr_naming_only_the_subsystem() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::load_or_create(&dir.path().join("ca")).unwrap();
        let agency_key = KeyPair::generate().unwrap();
        let mut asked = CertificateParams::new(vec!["evil.example".to_owned()]).unwrap();
        asked
            .distinguished_name
            .push(DnType::CommonName, "VN/GOV/BCA/registry");
        let csr = asked.serialize_request(&agency_key).unwrap().pem().unwrap();
        let (from, to) = window();
        let issued = ca
            .issue(&subsystem(), SubjectKey::Csr(&csr), from, to)
            .unwrap();
        assert!(issued.private_key_pem.is_none());
        let der = pem_der(&issued.certificate_pem, "CERTIFICATE").unwrap();
        let text = String::from_utf8_lossy(&der);
        assert!(text.contains("VN/GOV/BTP/civil"));
        assert!(text.contains("urn:xroad:VN/GOV/BTP/civil"));
        assert!(
            !text.contains("evil.example"),
            "the CSR's own names are ignored"
        );
        assert!(!text.contains("BCA"));
    }

    #[test]
    fn bad_requests_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::load_or_create(&dir.path().join("ca")).unwrap();
        let (from, to) = window();
        for bad in [
            "hello",
            "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----\n",
            ca.certificate_pem(),
        ] {
            let error = ca
                .issue(&subsystem(), SubjectKey::Csr(bad), from, to)
                .unwrap_err();
            assert!(
                matches!(&error, ExchangeError::Invalid { field: "csr", .. }),
                "{error}"
            );
            assert!(error.to_string().starts_with("csr: "), "{error}");
        }
        let error = ca
            .issue(&subsystem(), SubjectKey::Generate, to, from)
            .unwrap_err();
        assert!(error.to_string().starts_with("days: "));
    }

    #[test]
    fn revocation_lists_name_each_serial_and_refuse_stored_nonsense() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::load_or_create(&dir.path().join("ca")).unwrap();
        let (from, to) = window();
        let issued = ca
            .issue(&subsystem(), SubjectKey::Generate, from, to)
            .unwrap();
        let revoked = Revocation {
            serial: issued.serial.clone(),
            revoked_at: from,
        };
        let der = ca.revocation_list(&[revoked], from, to).unwrap();
        let serial = unhex(&issued.serial).unwrap();
        assert!(der.windows(serial.len()).any(|w| w == serial.as_slice()));
        let nonsense = Revocation {
            serial: "not hex".into(),
            revoked_at: from,
        };
        let error = ca.revocation_list(&[nonsense], from, to).unwrap_err();
        assert!(error.to_string().contains("not hex"), "{error}");
    }

    #[test]
    fn a_tampered_csr_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertificateAuthority::load_or_create(&dir.path().join("ca")).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "abc");
        let der = params.serialize_request(&key).unwrap().der().to_vec();
        // Flip a bit inside the subject (after the outer headers): the signature no longer
        // covers what is there.
        let mut tampered = der.clone();
        let at = der.windows(3).position(|w| w == b"abc").unwrap();
        tampered[at] = b'x';
        use base64::Engine;
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
            base64::engine::general_purpose::STANDARD.encode(&tampered)
        );
        let (from, to) = window();
        let error = ca
            .issue(&subsystem(), SubjectKey::Csr(&pem), from, to)
            .unwrap_err();
        assert!(error.to_string().contains("signature"), "{error}");
    }
}
