//! Certificates made at run time for TLS tests: a CA of the test's own and the server (or
//! client) certificates it signs, as PEM files in a scratch directory. Nothing private is
//! committed, and every test run has fresh keys.
//!
//! ```no_run
//! use testbed::tls::{TestCa, Validity};
//! let ca = TestCa::new("Test PBX CA").unwrap();
//! let server = ca.issue("pbx", &["pbx.test", "127.0.0.1"], Validity::Current).unwrap();
//! // Kamailio gets server.cert_file / server.key_file; the agent `[sip] ca_file = ca.ca_file()`.
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;

use crate::paths::scratch_dir;
use crate::TestbedError;

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// From 2020 to 2100.
    Current,
    /// During 2020 only: long expired.
    Expired,
}

/// A certificate and its private key, written as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The certificate's DER bytes.
    pub der: Vec<u8>,
}

/// A certificate authority that lives as long as the test.
pub struct TestCa {
    dir: TempDir,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

fn rcgen_error(what: &str, e: rcgen::Error) -> TestbedError {
    TestbedError::io(what.to_owned(), std::io::Error::other(e))
}

impl TestCa {
    /// A fresh CA named `common_name`; its certificate is [`TestCa::ca_file`].
    pub fn new(common_name: &str) -> Result<TestCa, TestbedError> {
        let dir = scratch_dir("ca-")?;
        let mut params = CertificateParams::new(Vec::<String>::new())
            .map_err(|e| rcgen_error("CA parameters", e))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2100, 1, 1);
        let key = KeyPair::generate().map_err(|e| rcgen_error("CA key", e))?;
        let issuer =
            CertifiedIssuer::self_signed(params, key).map_err(|e| rcgen_error("CA cert", e))?;
        let ca = TestCa { dir, issuer };
        write(&ca.ca_file(), &ca.issuer.pem())?;
        Ok(ca)
    }

    /// The CA certificate, PEM (what `[sip] ca_file` names).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The directory holding every file of this CA.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A certificate for `names` (host names and IP addresses, the first also its common
    /// name) signed by this CA, written to `<stem>.pem` and `<stem>.key`.
    pub fn issue(
        &self,
        stem: &str,
        names: &[&str],
        validity: Validity,
    ) -> Result<Issued, TestbedError> {
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params =
            CertificateParams::new(sans).map_err(|e| rcgen_error("certificate names", e))?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        let (from, until) = match validity {
            Validity::Current => (date_time_ymd(2020, 1, 1), date_time_ymd(2100, 1, 1)),
            Validity::Expired => (date_time_ymd(2020, 1, 1), date_time_ymd(2021, 1, 1)),
        };
        params.not_before = from;
        params.not_after = until;
        let key = KeyPair::generate().map_err(|e| rcgen_error("key", e))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| rcgen_error("certificate", e))?;
        let issued = Issued {
            cert_file: self.dir.path().join(format!("{stem}.pem")),
            key_file: self.dir.path().join(format!("{stem}.key")),
            der: cert.der().to_vec(),
        };
        write(&issued.cert_file, &cert.pem())?;
        write(&issued.key_file, &key.serialize_pem())?;
        Ok(issued)
    }
}

fn write(path: &Path, text: &str) -> Result<(), TestbedError> {
    fs::write(path, text).map_err(|e| TestbedError::io(format!("write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_and_the_certificates_it_signs() {
        let ca = TestCa::new("Test CA").unwrap();
        let server = ca
            .issue("pbx", &["pbx.test", "127.0.0.1"], Validity::Current)
            .unwrap();
        let pem = fs::read_to_string(ca.ca_file()).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        let key = fs::read_to_string(&server.key_file).unwrap();
        assert!(key.contains("PRIVATE KEY"), "{key}");
        assert!(fs::read_to_string(&server.cert_file)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
    }
}
