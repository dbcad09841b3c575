//! A private Kamailio per test: the PBX stand-in (registrar + digest auth + routing).
//!
//! Each instance renders `tests/kamailio/kamailio.cfg.in` into its own scratch directory with
//! its own port, so tests run in parallel. It runs in the foreground (`-DD -E`) with its log
//! in `kamailio.log` there, and answers `kamcmd` on a unix socket in the same directory.

use std::fs;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use crate::paths::{kamailio_dir, scratch_dir};
use crate::port::{on_fresh_ports, Attempt};
use crate::process::{describe, print_log_tail, run_bounded, Guarded};
use crate::rawsip::{options_request, options_request_via, status_code, tcp_request, udp_request};
use crate::tools::tool;
use crate::uldump::{self, UlContact, UlRecord};
use crate::wait::wait_until;
use crate::{free_port, TestbedError};

/// The digest algorithm of every challenge this instance sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    #[default]
    Md5,
    /// RFC 8760. SIPp 3.6 and baresip 1.0 cannot answer it: run far ends on an MD5 instance.
    Sha256,
}

impl Algorithm {
    /// The name in `WWW-Authenticate: ... algorithm=NAME` and in Kamailio's modparam.
    pub fn sip_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }
}

/// How to start an instance: `KamailioOptions::default()` (MD5, no trunk),
/// `KamailioOptions::sha256()`, `KamailioOptions::md5().with_trunk(far_end)`,
/// `KamailioOptions::sha256().with_tls(cert, key)`.
#[derive(Debug, Clone, Default)]
pub struct KamailioOptions {
    pub algorithm: Algorithm,
    /// The carrier trunk: our users' calls to numbers of 7 or more digits are relayed there
    /// (Request-URI kept). `None`: such calls get 404 "No trunk".
    pub trunk: Option<SocketAddr>,
    /// A TLS listener too (`Kamailio::tls_addr`), presenting this certificate.
    pub tls: Option<KamailioTls>,
    /// Run inside this network namespace (`testbed::netns::Netns::name`), listening on
    /// this address of it too, beside its own 127.0.0.1 (`KamailioOptions::in_netns`).
    pub netns: Option<(String, Ipv4Addr)>,
    /// UDP only: the address it names as its own in Via and Record-Route, a relay in front
    /// of it (`KamailioOptions::behind`).
    pub advertise: Option<SocketAddr>,
}

/// The server certificate and key (PEM files, e.g. from `testbed::tls::TestCa::issue`) of
/// Kamailio's TLS listener, and the CA its clients' certificates must come from when it
/// asks for one.
#[derive(Debug, Clone)]
pub struct KamailioTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// `Some(ca)`: every client must present a certificate this CA signed
    /// (`require_certificate`, `verify_certificate`). `None` (default): none asked for.
    pub client_ca: Option<PathBuf>,
}

impl KamailioOptions {
    pub fn md5() -> Self {
        Self::default()
    }

    pub fn sha256() -> Self {
        KamailioOptions {
            algorithm: Algorithm::Sha256,
            ..Self::default()
        }
    }

    /// The same options with outside numbers going to `trunk` (e.g. a SIPp UAS).
    pub fn with_trunk(mut self, trunk: SocketAddr) -> Self {
        self.trunk = Some(trunk);
        self
    }

    /// The same options with a TLS listener presenting `cert_file` (PEM, with its key).
    pub fn with_tls(mut self, cert_file: &Path, key_file: &Path) -> Self {
        self.tls = Some(KamailioTls {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            client_ca: None,
        });
        self
    }

    /// The same options, naming `relay` as its own address in what it sends over UDP, so
    /// that every client, in-dialog requests included, talks to it through the relay
    /// (`testbed::lossy::LossyRelay`).
    pub fn behind(mut self, relay: SocketAddr) -> Self {
        self.advertise = Some(relay);
        self
    }

    /// The same options, run inside network namespace `ns` and listening on its address
    /// `ip` too (UDP and TCP, same port as on 127.0.0.1).
    pub fn in_netns(mut self, ns: &crate::netns::Netns, ip: Ipv4Addr) -> Self {
        self.netns = Some((ns.name().to_owned(), ip));
        self
    }

    /// The same options, with the TLS listener (set by `with_tls` first) requiring a client
    /// certificate signed by `ca_file`.
    pub fn with_client_certificates(mut self, ca_file: &Path) -> Self {
        if let Some(tls) = &mut self.tls {
            tls.client_ca = Some(ca_file.to_owned());
        }
        self
    }
}

/// Hard upper bound on an instance's life unless [`Kamailio::start_with_lifetime`] says
/// otherwise: it ends even if the test process dies without running `Drop`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// The users in `tests/kamailio/dbtext/subscriber`: (user, password).
pub const USERS: [(&str, &str); 3] = [
    ("1001", "secret1001"),
    ("1002", "secret1002"),
    ("1003", "secret1003"),
];

/// The password of test user `user` (see [`USERS`]).
pub fn password_of(user: &str) -> Option<&'static str> {
    USERS.iter().find(|(u, _)| *u == user).map(|(_, p)| *p)
}

/// How long a start may take before it is a failure (it takes ~0.1 s here).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running Kamailio; stopped on drop (its log is printed if the test is failing).
pub struct Kamailio {
    dir: TempDir,
    port: u16,
    /// The TLS port (used only with `opts.tls`).
    tls_port: u16,
    opts: KamailioOptions,
    lifetime: Duration,
    process: Option<Guarded>,
}

impl Kamailio {
    /// Renders the config, starts Kamailio and waits until it answers OPTIONS on UDP, accepts
    /// TCP and has its control socket.
    pub fn start(opts: KamailioOptions) -> Result<Kamailio, TestbedError> {
        Self::start_with_lifetime(opts, DEFAULT_LIFETIME)
    }

    /// Like [`start`](Self::start), for tests that run longer than [`DEFAULT_LIFETIME`].
    pub fn start_with_lifetime(
        opts: KamailioOptions,
        lifetime: Duration,
    ) -> Result<Kamailio, TestbedError> {
        Self::start_on(opts, lifetime, free_port()?)
    }

    /// Starts on `port`, or on fresh ports if that one turns out to be taken.
    fn start_on(
        opts: KamailioOptions,
        lifetime: Duration,
        port: u16,
    ) -> Result<Kamailio, TestbedError> {
        tool("kamailio")?;
        tool("kamcmd")?;
        let dir = scratch_dir("kam-")?;
        copy_dbtext(&dir.path().join("dbtext"))?;
        let mut k = Kamailio {
            port,
            tls_port: free_port()?,
            dir,
            opts,
            lifetime,
            process: None,
        };
        on_fresh_ports("kamailio", |attempt| {
            if attempt > 1 {
                match free_port().and_then(|p| Ok((p, free_port()?))) {
                    Ok((port, tls_port)) => (k.port, k.tls_port) = (port, tls_port),
                    Err(e) => return Attempt::Done(Err(e)),
                }
            }
            let log_before = k.log().len();
            match k.launch() {
                Err(e @ TestbedError::ExitedEarly { .. })
                    if k.log()
                        .get(log_before..)
                        .is_some_and(|l| l.contains("Address already in use")) =>
                {
                    Attempt::PortTaken(Err(e))
                }
                result => Attempt::Done(result),
            }
        })?;
        Ok(k)
    }

    /// UDP and TCP address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS listener, `127.0.0.1:TLS_PORT`, when started `with_tls`.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.opts
            .tls
            .as_ref()
            .map(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, self.tls_port)))
    }

    pub fn algorithm(&self) -> Algorithm {
        self.opts.algorithm
    }

    /// The scratch directory: `kamailio.cfg`, `kamailio.log`, `dbtext/`, `kamailio_ctl`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kamailio's log so far (stderr; every request and reply is logged at info level).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| p.try_wait().is_none())
    }

    /// Runs a control command, e.g. `rpc(&["ul.dump"])`, and returns its output.
    pub fn rpc(&self, command: &[&str]) -> Result<String, TestbedError> {
        let kamcmd = tool("kamcmd")?;
        let sock = format!("unix:{}", self.ctl_path().display());
        let mut args = vec!["-s", sock.as_str()];
        args.extend_from_slice(command);
        let out = run_bounded(&kamcmd, &args, Duration::from_secs(5))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(TestbedError::Command {
                command: format!("kamcmd {}", args.join(" ")),
                status: describe(Some(out.status)),
                output: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    /// `kamcmd ul.dump`: the location table as Kamailio prints it.
    pub fn ul_dump(&self) -> Result<String, TestbedError> {
        self.rpc(&["ul.dump"])
    }

    /// The location table, parsed.
    pub fn registrations(&self) -> Result<Vec<UlRecord>, TestbedError> {
        Ok(uldump::parse(&self.ul_dump()?))
    }

    /// Contacts registered for `user` (e.g. "1001"), with expiry, Call-ID, socket.
    pub fn contacts(&self, user: &str) -> Result<Vec<UlContact>, TestbedError> {
        Ok(uldump::contacts_of(&self.ul_dump()?, user))
    }

    /// Contact URIs registered for `user`, e.g. `["sip:1001@127.0.0.1:40000;transport=UDP"]`.
    pub fn registered_contacts(&self, user: &str) -> Result<Vec<String>, TestbedError> {
        Ok(self
            .contacts(user)?
            .into_iter()
            .map(|c| c.address)
            .collect())
    }

    /// Polls until `user` has at least one contact; returns them.
    pub fn wait_registered(
        &self,
        user: &str,
        timeout: Duration,
    ) -> Result<Vec<UlContact>, TestbedError> {
        self.wait_contacts(user, timeout, "a registration", |c| !c.is_empty())
    }

    /// Polls until `user` has no contact left (unregistered or expired).
    pub fn wait_unregistered(&self, user: &str, timeout: Duration) -> Result<(), TestbedError> {
        self.wait_contacts(user, timeout, "no registration", |c| c.is_empty())
            .map(|_| ())
    }

    fn wait_contacts(
        &self,
        user: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&[UlContact]) -> bool,
    ) -> Result<Vec<UlContact>, TestbedError> {
        let mut dump = String::new();
        let what = format!("{what} of {user} in Kamailio {}", self.addr());
        wait_until(&what, timeout, Duration::from_millis(50), || {
            dump = self.ul_dump()?;
            let contacts = uldump::contacts_of(&dump, user);
            Ok(done(&contacts).then_some(contacts))
        })
        .map_err(|e: TestbedError| {
            e.with_detail(|| format!("--- ul.dump ---\n{dump}\n--- log ---\n{}", self.log()))
        })
    }

    /// Stops Kamailio (SIGTERM, SIGKILL after 5 s). Registrations are in memory: a restart
    /// forgets them, as a real PBX restart without a database would.
    pub fn stop(&mut self) -> Result<(), TestbedError> {
        if let Some(mut p) = self.process.take() {
            p.freeze(false); // a frozen one would not hear the SIGTERM
            p.terminate(Duration::from_secs(5));
        }
        Ok(())
    }

    /// Hangs every Kamailio process (SIGSTOP) until [`Kamailio::thaw`]: connections stay
    /// open and the kernel still acknowledges, but nothing answers. Drop thaws it.
    pub fn freeze(&self) {
        if let Some(p) = &self.process {
            p.freeze(true);
        }
    }

    /// Resumes a [`Kamailio::freeze`]d instance.
    pub fn thaw(&self) {
        if let Some(p) = &self.process {
            p.freeze(false);
        }
    }

    /// Stops and starts again on the same port and directory (the log continues).
    pub fn restart(&mut self) -> Result<(), TestbedError> {
        self.stop()?;
        self.launch()
    }

    fn launch(&mut self) -> Result<(), TestbedError> {
        let kamailio = tool("kamailio")?;
        let dir = self.dir.path().to_path_buf();
        let cfg = dir.join("kamailio.cfg");
        let ports = Ports {
            sip: self.port,
            tls: self.tls_port,
        };
        fs::write(&cfg, render(&template()?, &dir, ports, &self.opts)?)
            .map_err(|e| TestbedError::io(format!("write {}", cfg.display()), e))?;
        if let Some(tls) = &self.opts.tls {
            let tls_cfg = dir.join("tls.cfg");
            fs::write(&tls_cfg, tls_config(tls))
                .map_err(|e| TestbedError::io(format!("write {}", tls_cfg.display()), e))?;
        }
        // A stale socket from the previous run would make the readiness check pass early.
        let _ = fs::remove_file(self.ctl_path());
        let mut log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| TestbedError::io("open kamailio.log", e))?;
        let _ = writeln!(
            log,
            "=== testbed: starting kamailio on 127.0.0.1:{} ({}){} ===",
            self.port,
            self.opts.algorithm.sip_name(),
            match self.tls_addr() {
                Some(addr) => format!(", TLS on {addr}"),
                None => String::new(),
            }
        );
        let mut args: Vec<std::ffi::OsString> = vec![
            "-f".into(),
            cfg.into(),
            // foreground, creator not daemonized; log to stderr
            "-DD".into(),
            "-E".into(),
            "-Y".into(),
            dir.clone().into(),
            "-P".into(),
            dir.join("kamailio.pid").into(),
            "-w".into(),
            dir.clone().into(),
            // small shared memory: many instances run at once
            "-m".into(),
            "32".into(),
        ];
        if self.opts.tls.is_some() {
            args.extend(["-A".into(), "WITH_TLS".into()]);
        }
        if self.opts.advertise.is_some() {
            args.extend(["-A".into(), "WITH_ADVERTISE".into()]);
        }
        let (program, args) = match &self.opts.netns {
            Some((ns, _)) => {
                args.extend(["-A".into(), "WITH_NETNS_IP".into()]);
                let mut all: Vec<std::ffi::OsString> =
                    vec!["netns".into(), "exec".into(), ns.into(), kamailio.into()];
                all.extend(args);
                (tool("ip")?, all)
            }
            None => (kamailio, args),
        };
        let mut process = Guarded::spawn_logging(&program, &args, self.lifetime, &dir, log)?;
        process.wait_ready(
            &format!("kamailio on {}", self.addr()),
            READY_WITHIN,
            Duration::from_millis(20),
            || self.log(),
            || (self.ctl_path().exists() && self.probe()).then_some(()),
        )?;
        self.process = Some(process);
        Ok(())
    }

    /// OPTIONS gets 200 over UDP and over TCP. A TCP connect alone is not enough: the kernel
    /// accepts before Kamailio's TCP process runs, and a SIGTERM that reaches that process
    /// while it is still starting is lost (the stop then hangs until SIGKILL).
    fn probe(&self) -> bool {
        match &self.opts.netns {
            Some((ns, _)) => crate::netns::in_netns(ns, || self.probe_here()),
            None => self.probe_here(),
        }
    }

    fn probe_here(&self) -> bool {
        let to = self.addr();
        let wait = Duration::from_millis(300);
        let ok = |r: Result<String, TestbedError>| r.is_ok_and(|r| status_code(&r) == Some(200));
        ok(udp_request(to, |l| options_request(l, to), wait))
            && ok(tcp_request(to, |l| options_request_via("TCP", l, to), wait))
            // The TLS listener belongs to the same TCP processes: accepting is enough.
            && self.tls_addr().is_none_or(|tls| {
                std::net::TcpStream::connect_timeout(&tls, wait).is_ok()
            })
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("kamailio.log")
    }

    fn ctl_path(&self) -> PathBuf {
        self.dir.path().join("kamailio_ctl")
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.stop();
        if thread::panicking() {
            let name = format!("kamailio {} log {}", self.addr(), self.log_path().display());
            print_log_tail(&name, &self.log(), 80);
        }
    }
}

/// Every placeholder of `kamailio.cfg.in`.
const PLACEHOLDERS: [&str; 7] = [
    "@RUN_DIR@",
    "@PORT@",
    "@ALGORITHM@",
    "@TRUNK@",
    "@TLS_PORT@",
    "@NETNS_IP@",
    "@ADVERTISE@",
];

/// The ports an instance listens on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ports {
    /// UDP and TCP.
    pub sip: u16,
    /// TLS (only with `-A WITH_TLS`).
    pub tls: u16,
}

/// The TLS module's configuration: our certificate, TLS 1.2 or later, client certificates
/// required only with `client_ca`, and no checks of the servers Kamailio itself connects to
/// (it reaches TLS clients over their own connections).
fn tls_config(tls: &KamailioTls) -> String {
    let clients = match &tls.client_ca {
        Some(ca) => format!(
            "verify_certificate = yes\nrequire_certificate = yes\nca_list = {}\n",
            ca.display()
        ),
        None => "verify_certificate = no\nrequire_certificate = no\n".to_owned(),
    };
    format!(
        "[server:default]\nmethod = TLSv1.2+\n{clients}private_key = {}\ncertificate = {}\n\n[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n",
        tls.key_file.display(),
        tls.cert_file.display()
    )
}

fn template() -> Result<String, TestbedError> {
    let path = kamailio_dir().join("kamailio.cfg.in");
    fs::read_to_string(&path).map_err(|_| TestbedError::MissingFile { path })
}

/// Fills the template's placeholders; fails if one is left (a template/renderer mismatch).
pub(crate) fn render(
    template: &str,
    run_dir: &Path,
    ports: Ports,
    opts: &KamailioOptions,
) -> Result<String, TestbedError> {
    let trunk = opts.trunk.map(|t| t.to_string()).unwrap_or_default();
    let out = template
        .replace("@RUN_DIR@", &run_dir.display().to_string())
        .replace("@TLS_PORT@", &ports.tls.to_string())
        .replace(
            "@ADVERTISE@",
            &opts
                .advertise
                .map_or_else(|| format!("127.0.0.1:{}", ports.sip), |a| a.to_string()),
        )
        .replace(
            "@NETNS_IP@",
            &opts
                .netns
                .as_ref()
                .map_or(Ipv4Addr::LOCALHOST, |(_, ip)| *ip)
                .to_string(),
        )
        .replace("@PORT@", &ports.sip.to_string())
        .replace("@ALGORITHM@", opts.algorithm.sip_name())
        .replace("@TRUNK@", &trunk);
    for placeholder in PLACEHOLDERS {
        if out.contains(placeholder) {
            return Err(TestbedError::MissingFile {
                path: kamailio_dir().join(format!("kamailio.cfg.in ({placeholder} left)")),
            });
        }
    }
    Ok(out)
}

/// Copies the db_text tables: each instance gets its own (db_text may rewrite them).
fn copy_dbtext(to: &Path) -> Result<(), TestbedError> {
    let from = kamailio_dir().join("dbtext");
    fs::create_dir_all(to).map_err(|e| TestbedError::io("create dbtext/", e))?;
    for table in ["subscriber", "version"] {
        let src = from.join(table);
        fs::copy(&src, to.join(table)).map_err(|_| TestbedError::MissingFile { path: src })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: Ports = Ports {
        sip: 5099,
        tls: 5098,
    };

    #[test]
    fn renders_every_placeholder() {
        let t = template().unwrap();
        let out = render(&t, Path::new("/tmp/x"), PORTS, &KamailioOptions::sha256()).unwrap();
        assert!(out.contains("listen=udp:127.0.0.1:5099"));
        assert!(out.contains("listen=tls:127.0.0.1:5098"));
        assert!(out.contains("modparam(\"auth\", \"algorithm\", \"SHA-256\")"));
        assert!(out.contains("text:///tmp/x/dbtext"));
        assert!(out.contains("$var(trunk) = \"\";"));
        for placeholder in PLACEHOLDERS {
            assert!(!out.contains(placeholder), "{placeholder}");
        }
    }

    #[test]
    fn renders_the_trunk() {
        let t = template().unwrap();
        let opts = KamailioOptions::md5().with_trunk("127.0.0.1:5999".parse().unwrap());
        let out = render(&t, Path::new("/tmp/x"), PORTS, &opts).unwrap();
        assert!(out.contains("$var(trunk) = \"127.0.0.1:5999\";"));
    }

    #[test]
    fn moves_to_another_port_when_its_port_is_taken() {
        if !crate::require_tools("moves_to_another_port", &["kamailio", "kamcmd"]) {
            return;
        }
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let k = Kamailio::start_on(KamailioOptions::default(), DEFAULT_LIFETIME, port).unwrap();
        assert_ne!(k.port(), port);
        assert!(k.log().contains("Address already in use"), "{}", k.log());
    }

    #[test]
    fn never_aliases_the_bare_loopback_address() {
        // The alias trap: a port-less alias makes every local peer "myself".
        let t = template().unwrap();
        let bare = t
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.replace(' ', "").starts_with("alias=\"127.0.0.1\""));
        assert!(!bare);
    }

    #[test]
    fn subscriber_table_declares_ha1_nullable() {
        let s = fs::read_to_string(kamailio_dir().join("dbtext/subscriber")).unwrap();
        let header = s.lines().next().unwrap();
        assert!(header.contains("ha1(string,null)"), "{header}");
        assert!(header.contains("ha1b(string,null)"), "{header}");
        for (user, pass) in USERS {
            assert!(s.contains(&format!(":{user}:127.0.0.1:{pass}::")), "{user}");
        }
    }
}
