//! A private, headless PulseAudio for audio-device tests: two null sinks instead of hardware.
//!
//! - `speaker`: where applications play to (the default sink); record `speaker.monitor`
//!   ([`Pulse::record_speaker`]) to check what was played;
//! - `mic`: play test audio into it ([`Pulse::play_into_mic`]); its monitor `mic.monitor` is
//!   the default source, so an application capturing from the default input hears it.
//!
//! The two are not coupled unless a test asks for a room ([`Pulse::couple_speaker_to_mic`]):
//! then what is played on `speaker` also reaches `mic`, later and quieter, until the returned
//! [`EchoPath`] is dropped.
//!
//! The daemon runs in its own scratch directory (runtime dir, home, state), listens on a unix
//! socket only (`module-native-protocol-unix`, no TCP module), runs under `timeout` like every
//! testbed peer and is stopped on drop. [`Pulse::env`] lists the variables a client needs:
//! `PULSE_SERVER` for libpulse and for cpal's native PulseAudio host, and `ALSA_CONFIG_PATH`
//! (the system `alsa.conf` plus a file of ours) so that ALSA `default` is the `pulse` plugin
//! talking to *this* server whether or not another PulseAudio runs.
//!
//! Trap handled here (see the test-infra notes): a null sink with no low-latency stream
//! attached sleeps in 2 s blocks, so every new stream starts 1.5-2 s late and the clock looks
//! 30-50% slow. [`Pulse::start`] therefore keeps one `pacat --record --latency-msec=10` per
//! sink monitor connected for its whole life and waits 2.5 s for the sinks to settle.
//!
//! In-process clients (cpal) read the environment once, so a test binary shares one server:
//! [`Pulse::shared`] starts it on first use, sets its variables in this process, and ends it
//! when the test process exits (a watchdog sees its pipe close), or after its lifetime.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::paths::scratch_dir;
use crate::process::{describe, run_bounded, Guarded};
use crate::tools::tool;
use crate::{wait_until, TestbedError};

/// Sample rate of both null sinks (and of [`Pulse::record_speaker`]'s output).
pub const RATE: u32 = 48_000;

/// How to start a [`Pulse`].
#[derive(Debug, Clone)]
pub struct PulseOptions {
    /// Hard upper bound of the daemon's life (default 120 s).
    pub lifetime: Duration,
    /// Wait for the null sinks to pick up the keepers' 10 ms latency (default 2.5 s).
    pub settle: Duration,
}

impl Default for PulseOptions {
    fn default() -> Self {
        PulseOptions {
            lifetime: Duration::from_secs(120),
            settle: Duration::from_millis(2500),
        }
    }
}

/// How long the daemon may take to answer `pactl info` (~0.1 s here).
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running private PulseAudio with sinks `speaker` and `mic`; stopped on drop.
pub struct Pulse {
    // Field order: keepers disconnect before the daemon stops; the directory goes last.
    _keepers: Vec<Guarded>,
    daemon: Guarded,
    dir: TempDir,
    env: Vec<(String, String)>,
    opts: PulseOptions,
}

impl Pulse {
    /// Starts the daemon, waits until it answers, attaches the keeper streams and lets the
    /// sinks settle. Takes ~2.6 s.
    pub fn start(opts: PulseOptions) -> Result<Pulse, TestbedError> {
        tool("pulseaudio")?;
        tool("pacat")?;
        tool("pactl")?;
        let dir = scratch_dir("pulse-")?;
        let d = dir.path();
        let runtime = d.join("runtime");
        let home = d.join("home");
        let state = d.join("state");
        for p in [&runtime, &home, &state] {
            fs::create_dir_all(p)
                .map_err(|e| TestbedError::io(format!("create {}", p.display()), e))?;
        }
        set_mode_700(&runtime)?;
        let socket = d.join("native");
        let script = d.join("default.pa");
        write(&script, &default_pa(&socket))?;
        let client_conf = d.join("client.conf");
        write(
            &client_conf,
            &format!(
                "default-server = unix:{}\nautospawn = no\n",
                socket.display()
            ),
        )?;
        let asound = d.join("asound.conf");
        write(&asound, &asound_conf(&socket))?;
        let env = client_env(&socket, &client_conf, &asound);

        let (daemon, keepers) = launch(d, &opts, &env)?;
        thread::sleep(opts.settle);
        Ok(Pulse {
            _keepers: keepers,
            daemon,
            dir,
            env,
            opts,
        })
    }

    /// Kills the daemon (SIGKILL: clients see the server vanish, as when a desktop's sound
    /// server crashes) without starting it again.
    pub fn kill(&mut self) {
        self._keepers.clear();
        self.daemon.terminate(Duration::from_millis(0));
        // The killed daemon may linger as a zombie whose pid the next daemon would take for
        // a running instance.
        let _ = fs::remove_file(self.dir.path().join("runtime/pid"));
        let _ = fs::remove_file(self.dir.path().join("native"));
    }

    /// Stops the daemon (SIGSTOP) for `pause`, then lets it go on: a sound server that did
    /// not get the CPU for that long, as on a loaded machine. A null sink then renders the
    /// time it missed at once, its streams underrunning: they lose that time.
    pub fn stall(&self, pause: Duration) -> Result<(), TestbedError> {
        let pid_file = self.dir.path().join("runtime/pid");
        let pid: libc::pid_t = fs::read_to_string(&pid_file)
            .map_err(|e| TestbedError::io(format!("read {}", pid_file.display()), e))?
            .trim()
            .parse()
            .map_err(|e| TestbedError::io("the daemon's pid", std::io::Error::other(e)))?;
        let signal = |sig| {
            // SAFETY: kill(2) with a pid read from our own daemon's pid file.
            if unsafe { libc::kill(pid, sig) } != 0 {
                return Err(TestbedError::io(
                    format!("signal {sig} to PulseAudio {pid}"),
                    std::io::Error::last_os_error(),
                ));
            }
            Ok(())
        };
        signal(libc::SIGSTOP)?;
        thread::sleep(pause);
        signal(libc::SIGCONT)
    }

    /// Kills the daemon and starts a fresh one on the same socket (sound server restart).
    pub fn restart(&mut self) -> Result<(), TestbedError> {
        self.kill();
        let (daemon, keepers) = launch(self.dir.path(), &self.opts, &self.env)?;
        self.daemon = daemon;
        self._keepers = keepers;
        thread::sleep(self.opts.settle);
        Ok(())
    }

    /// The one server of this test process, started on first use with
    /// [`PulseOptions::default`] and a 300 s lifetime; its [`env`](Self::env) is set in this
    /// process before it returns, so call it before the first audio-library call. It ends
    /// when the test process exits.
    pub fn shared() -> Result<&'static Pulse, TestbedError> {
        Pulse::shared_for(Duration::from_secs(300))
    }

    /// [`shared`](Self::shared), with `lifetime` if this call starts it (a bench longer
    /// than five minutes); the server already running keeps its own.
    pub fn shared_for(lifetime: Duration) -> Result<&'static Pulse, TestbedError> {
        static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();
        let slot = SHARED.get_or_init(|| {
            let pulse = Pulse::start(PulseOptions {
                lifetime,
                ..PulseOptions::default()
            })
            .map_err(|e| e.to_string())?;
            // SAFETY-free: edition 2021 `set_var`; done once, before any client of this
            // process reads the variables (the OnceLock orders the callers).
            for (k, v) in &pulse.env {
                std::env::set_var(k, v);
            }
            let watchdog = pulse.watchdog().map_err(|e| e.to_string())?;
            Ok(Shared {
                pulse,
                _watchdog: watchdog,
            })
        });
        match slot {
            Ok(s) => Ok(&s.pulse),
            Err(e) => Err(TestbedError::Command {
                command: "start the shared PulseAudio".into(),
                status: "failed".into(),
                output: e.clone(),
            }),
        }
    }

    /// Environment a client needs: `PULSE_SERVER`, `PULSE_CLIENTCONFIG`, `ALSA_CONFIG_PATH`.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// `unix:PATH` of the server's socket.
    pub fn server(&self) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == "PULSE_SERVER")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The scratch directory (log in `pulseaudio.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the daemon is still running.
    pub fn is_running(&mut self) -> bool {
        self.daemon.try_wait().is_none()
    }

    /// Runs `pactl ARGS` against this server; its stdout.
    pub fn pactl(&self, args: &[&str]) -> Result<String, TestbedError> {
        pactl_with(&self.env, args)
    }

    /// Plays a WAV file into sink `mic` (so it is heard on the default source) and waits
    /// until it has been played (bounded by its length + 10 s).
    pub fn play_into_mic(&self, wav: &Path) -> Result<(), TestbedError> {
        let mut p = self.start_play_into_mic(wav)?;
        p.wait(wav_duration(wav)? + Duration::from_secs(10))
    }

    /// Starts playing a WAV file into sink `mic`; [`Playback::wait`] for its end.
    pub fn start_play_into_mic(&self, wav: &Path) -> Result<Playback, TestbedError> {
        self.start_play_into("mic", wav)
    }

    /// Starts playing a WAV file into `sink` (e.g. `speaker`, as an application would);
    /// [`Playback::wait`] for its end.
    pub fn start_play_into(&self, sink: &str, wav: &Path) -> Result<Playback, TestbedError> {
        let limit = wav_duration(wav)? + Duration::from_secs(10);
        let mut args = env_args(&self.env);
        args.extend(
            [
                "paplay",
                "--latency-msec=10",
                &format!("--client-name=testbed-{sink}"),
                "-d",
                sink,
            ]
            .map(OsString::from),
        );
        args.push(wav.as_os_str().to_owned());
        let log_path = self.dir.path().join(format!("paplay-{}.log", next_id()));
        let log = File::create(&log_path)
            .map_err(|e| TestbedError::io(format!("create {}", log_path.display()), e))?;
        let started = Instant::now();
        let process = Guarded::spawn(
            &tool("env")?,
            &args,
            limit,
            self.dir.path(),
            Stdio::null(),
            Stdio::from(log),
        )?;
        Ok(Playback {
            process,
            started,
            log_path,
            sink: sink.to_string(),
        })
    }

    /// Records `duration` of what is played to sink `speaker` (its monitor), as 48 kHz mono.
    pub fn record_speaker(&self, duration: Duration) -> Result<Vec<i16>, TestbedError> {
        let rec = self.start_record_speaker()?;
        rec.finish(duration)
    }

    /// Starts recording sink `speaker`'s monitor (48 kHz mono); [`Recorder::finish`] stops it.
    pub fn start_record_speaker(&self) -> Result<Recorder, TestbedError> {
        self.start_record("speaker.monitor")
    }

    /// Adds a null sink `name` (48 kHz stereo, like `speaker`; its monitor `NAME.monitor` is
    /// an input) and returns its module index for [`unload_module`](Self::unload_module).
    /// Record its monitor while it is used: an idle null sink sleeps in 2 s blocks.
    pub fn add_null_sink(&self, name: &str) -> Result<u32, TestbedError> {
        let out = self.pactl(&[
            "load-module",
            "module-null-sink",
            &format!("sink_name={name}"),
            &format!("rate={RATE}"),
            "channels=2",
            &format!("sink_properties=device.description={name}"),
        ])?;
        out.trim().parse().map_err(|_| {
            TestbedError::io(
                format!("pactl load-module {name}"),
                std::io::Error::other(format!("unexpected answer {out:?}")),
            )
        })
    }

    /// Removes a module (a sink added by [`add_null_sink`](Self::add_null_sink): for
    /// clients, the device is unplugged).
    pub fn unload_module(&self, index: u32) -> Result<(), TestbedError> {
        self.pactl(&["unload-module", &index.to_string()])
            .map(|_| ())
    }

    /// Starts recording `source` (e.g. `speaker.monitor`) as 48 kHz mono;
    /// [`Recorder::finish`] stops it.
    pub fn start_record(&self, source: &str) -> Result<Recorder, TestbedError> {
        let path = self.dir.path().join(format!("rec-{}.raw", next_id()));
        let out = File::create(&path)
            .map_err(|e| TestbedError::io(format!("create {}", path.display()), e))?;
        let mut args = env_args(&self.env);
        args.extend(
            [
                "parec",
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=10",
                "--client-name=testbed-recorder",
                "-d",
            ]
            .map(OsString::from),
        );
        args.push(source.into());
        let started = Instant::now();
        let process = Guarded::spawn(
            &tool("env")?,
            &args,
            Duration::from_secs(120),
            self.dir.path(),
            Stdio::from(out),
            Stdio::null(),
        )?;
        Ok(Recorder {
            process,
            path,
            started,
        })
    }

    /// Starts recording `source` (48 kHz mono) with each chunk's arrival time kept, so a
    /// sample's time is known: see [`TimedRecorder`].
    pub fn start_timed_record(&self, source: &str) -> Result<TimedRecorder, TestbedError> {
        TimedRecorder::start(&self.env, source)
    }

    /// Couples the speaker into the microphone like a room: what is played on `speaker`
    /// reaches sink `mic` (and so the default input, `mic.monitor`) about `delay` later,
    /// `gain_db` louder (negative: quieter), mixed with whatever else is played into `mic`.
    /// A `module-loopback` from `speaker.monitor` to `mic`, unloaded when the returned
    /// [`EchoPath`] is dropped (or with the server).
    ///
    /// The attenuation is the loopback stream's volume, set in dB: PulseAudio's percentages
    /// are cubic (`50%` is -18 dB, not -6). The loopback spends its first moments finding its
    /// latency: let it settle a second before measuring.
    pub fn couple_speaker_to_mic(
        &self,
        delay: Duration,
        gain_db: f64,
    ) -> Result<EchoPath<'_>, TestbedError> {
        let out = self.pactl(&[
            "load-module",
            "module-loopback",
            "source=speaker.monitor",
            "sink=mic",
            &format!("latency_msec={}", delay.as_millis().max(1)),
            // No rate adaptation: a room does not resample. With it the loopback stretches
            // the audio to pull its latency to the target, and the echo's delay slides by
            // 7-40 ms every second or two (docs/benchmarks.md, "AEC3 against AEC2").
            "adjust_time=0",
            "source_dont_move=true",
            "sink_dont_move=true",
            "sink_input_properties=media.name=testbed-room-echo",
            "source_output_properties=media.name=testbed-room-echo",
        ])?;
        let module: u32 = out.trim().parse().map_err(|_| {
            TestbedError::io(
                "pactl load-module module-loopback",
                std::io::Error::other(format!("unexpected answer {out:?}")),
            )
        })?;
        // Unloaded on every path from here, the error ones too.
        let path = EchoPath {
            pulse: self,
            module,
        };
        let input = path.sink_input()?;
        self.pactl(&[
            "set-sink-input-volume",
            &input.to_string(),
            &format!("{gain_db:.1}dB"),
        ])?;
        Ok(path)
    }

    /// A process that ends this server when this test process exits: `sh` waits for EOF on a
    /// pipe whose write end only this process holds, then stops the daemon named by its pid
    /// file (the keepers and `timeout` wrappers exit with it) and removes the directory.
    fn watchdog(&self) -> Result<std::process::ChildStdin, TestbedError> {
        let d = self.dir.path().display();
        let script = format!(
            "cat >/dev/null; p=$(cat '{d}/runtime/pid' 2>/dev/null); \
             [ -n \"$p\" ] && kill -TERM \"$p\" 2>/dev/null; sleep 2; \
             [ -n \"$p\" ] && kill -KILL \"$p\" 2>/dev/null; rm -rf '{d}'"
        );
        let mut child = Command::new(tool("sh")?)
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TestbedError::io("start the PulseAudio watchdog", e))?;
        child
            .stdin
            .take()
            .ok_or_else(|| TestbedError::io("watchdog stdin", std::io::Error::other("no pipe")))
    }
}

struct Shared {
    pulse: Pulse,
    _watchdog: std::process::ChildStdin,
}

/// A `paplay` into a sink, started at [`started`](Self::started).
pub struct Playback {
    process: Guarded,
    /// When the player process was spawned.
    pub started: Instant,
    log_path: PathBuf,
    sink: String,
}

impl Playback {
    /// Waits for the player to finish (at most `limit`), an error if it failed.
    pub fn wait(&mut self, limit: Duration) -> Result<(), TestbedError> {
        match self.process.wait_for(limit) {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(TestbedError::Command {
                command: format!("paplay -d {}", self.sink),
                status: describe(Some(s)),
                output: fs::read_to_string(&self.log_path).unwrap_or_default(),
            }),
            None => Err(TestbedError::Timeout {
                what: format!("paplay -d {} to finish", self.sink),
                waited: limit,
                detail: fs::read_to_string(&self.log_path).unwrap_or_default(),
            }),
        }
    }
}

/// A `parec` of `speaker.monitor` (48 kHz mono s16), started at [`started`](Self::started).
pub struct Recorder {
    process: Guarded,
    path: PathBuf,
    /// When the recorder process was spawned (its first sample is a little later).
    pub started: Instant,
}

impl Recorder {
    /// Waits until the recorder delivered its first audio (`parec` connects in its own
    /// time; an idle null sink's monitor delivers in blocks of up to 2 s), so that what
    /// happens from now on is in the recording.
    pub fn wait_recording(&mut self, within: Duration) -> Result<(), TestbedError> {
        let path = self.path.clone();
        wait_until(
            "the recorder's first audio",
            within,
            Duration::from_millis(10),
            || {
                if fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 0 {
                    return Ok(Some(()));
                }
                match self.process.try_wait() {
                    Some(s) => Err(TestbedError::exited_early(
                        "parec (recorder)",
                        s,
                        String::new(),
                    )),
                    None => Ok(None),
                }
            },
        )
    }

    /// Waits until `duration` of audio has been recorded (at most `duration` + 5 s), stops
    /// the recorder and returns exactly that much (less if it ran out of time).
    pub fn finish(mut self, duration: Duration) -> Result<Vec<i16>, TestbedError> {
        let want = (duration.as_secs_f64() * f64::from(RATE)).round() as u64 * 2;
        let recorded = || fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let within = duration + Duration::from_secs(5);
        // Running out of time is not a failure: the caller gets less audio and says so.
        match wait_until("a recording", within, Duration::from_millis(10), || {
            if recorded() >= want {
                return Ok(Some(()));
            }
            match self.process.try_wait() {
                Some(s) => Err(TestbedError::exited_early(
                    "parec (recorder)",
                    s,
                    String::new(),
                )),
                None => Ok(None),
            }
        }) {
            Ok(()) | Err(TestbedError::Timeout { .. }) => {}
            Err(e) => return Err(e),
        }
        self.process.terminate(Duration::from_secs(2));
        let bytes = fs::read(&self.path)
            .map_err(|e| TestbedError::io(format!("read {}", self.path.display()), e))?;
        let _ = fs::remove_file(&self.path);
        let n = (bytes.len() as u64).min(want) as usize / 2;
        Ok(bytes[..n * 2]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect())
    }
}

/// A `parec` of a source (48 kHz mono s16, 5 ms fragments) read as it arrives. Every
/// chunk's last sample was recorded before the chunk arrived, so sample 0 was recorded no
/// later than `arrival - samples so far / rate`; the least of these bounds over the whole
/// recording is [`zero`](Self::zero), late by the recorder's quickest delivery (a few ms at
/// most, and the same in every run).
pub struct TimedRecorder {
    child: std::process::Child,
    data: std::sync::Arc<std::sync::Mutex<(Vec<i16>, Option<Instant>)>>,
}

impl TimedRecorder {
    fn start(env: &[(String, String)], source: &str) -> Result<TimedRecorder, TestbedError> {
        use std::io::Read;
        let mut child = Command::new(tool("parec")?)
            .args([
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=5",
                "--client-name=testbed-timed-recorder",
                "-d",
                source,
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| TestbedError::io("start parec", e))?;
        let mut out = child
            .stdout
            .take()
            .ok_or_else(|| TestbedError::io("parec stdout", std::io::Error::other("no pipe")))?;
        let data = std::sync::Arc::new(std::sync::Mutex::new((Vec::new(), None::<Instant>)));
        let sink = data.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut odd: Option<u8> = None;
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let now = Instant::now();
                let mut bytes: Vec<u8> = odd.take().into_iter().collect();
                bytes.extend_from_slice(&buf[..n]);
                if bytes.len() % 2 == 1 {
                    odd = bytes.pop();
                }
                let mut d = sink.lock().unwrap_or_else(|p| p.into_inner());
                d.0.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                let len = d.0.len() as f64 / f64::from(RATE);
                if let Some(t0) = now.checked_sub(Duration::from_secs_f64(len)) {
                    d.1 = Some(d.1.map_or(t0, |t: Instant| t.min(t0)));
                }
            }
        });
        Ok(TimedRecorder { child, data })
    }

    /// When sample 0 was recorded (the tightest bound so far), once audio has arrived.
    pub fn zero(&self) -> Option<Instant> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    /// The samples recorded so far and [`zero`](Self::zero).
    pub fn snapshot(&self) -> (Vec<i16>, Option<Instant>) {
        let d = self.data.lock().unwrap_or_else(|p| p.into_inner());
        (d.0.clone(), d.1)
    }
}

impl Drop for TimedRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A room's echo path from `speaker` into `mic` ([`Pulse::couple_speaker_to_mic`]);
/// removed on drop.
pub struct EchoPath<'a> {
    pulse: &'a Pulse,
    module: u32,
}

impl EchoPath<'_> {
    /// The `module-loopback` index.
    pub fn module(&self) -> u32 {
        self.module
    }

    /// The loopback's stream into `mic` (the one whose volume is the room's attenuation).
    fn sink_input(&self) -> Result<u32, TestbedError> {
        let json = self.pulse.pactl(&["-f", "json", "list", "sink-inputs"])?;
        let list: serde_json::Value = serde_json::from_str(&json).map_err(|e| {
            TestbedError::io(
                "pactl -f json list sink-inputs",
                std::io::Error::other(e.to_string()),
            )
        })?;
        let owned = |i: &&serde_json::Value| {
            i["owner_module"].as_str().and_then(|m| m.parse().ok()) == Some(self.module)
                || i["owner_module"].as_u64() == Some(u64::from(self.module))
        };
        list.as_array()
            .and_then(|l| l.iter().find(owned))
            .and_then(|i| i["index"].as_u64())
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| {
                TestbedError::io(
                    format!("find the sink input of module {}", self.module),
                    std::io::Error::other(json),
                )
            })
    }
}

impl Drop for EchoPath<'_> {
    fn drop(&mut self) {
        let _ = self.pulse.unload_module(self.module);
    }
}

/// Writes a mono 16-bit WAV of a sine at `freq` Hz (peak -12 dBFS), `duration` long, at
/// `rate`: test audio for [`Pulse::play_into_mic`].
pub fn write_tone_wav(
    path: &Path,
    freq: f64,
    duration: Duration,
    rate: u32,
) -> Result<(), TestbedError> {
    let n = (duration.as_secs_f64() * f64::from(rate)).round() as usize;
    let samples: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            ((std::f64::consts::TAU * freq * t).sin() * 32767.0 * 0.25).round() as i16
        })
        .collect();
    write_wav(path, &samples, rate)
}

/// Writes mono 16-bit samples as a WAV.
pub fn write_wav(path: &Path, samples: &[i16], rate: u32) -> Result<(), TestbedError> {
    let err = |e: hound::Error| {
        TestbedError::io(
            format!("write WAV {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        w.write_sample(s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

/// Starts the daemon in `d` (files written by [`Pulse::start`]), waits until it answers and
/// attaches the keeper streams.
fn launch(
    d: &Path,
    opts: &PulseOptions,
    env: &[(String, String)],
) -> Result<(Guarded, Vec<Guarded>), TestbedError> {
    let runtime = d.join("runtime");
    let home = d.join("home");
    let state = d.join("state");
    let script = d.join("default.pa");
    let socket = d.join("native");
    let log_path = d.join("pulseaudio.log");
    let log = File::create(&log_path)
        .map_err(|e| TestbedError::io(format!("create {}", log_path.display()), e))?;
    let mut args: Vec<OsString> = vec![
        kv("HOME", &home),
        kv("XDG_RUNTIME_DIR", &runtime),
        kv("PULSE_RUNTIME_PATH", &runtime),
        kv("PULSE_STATE_PATH", &state),
        "pulseaudio".into(),
        "-n".into(),
        "-F".into(),
        script.clone().into(),
        "--daemonize=no".into(),
        "--system=false".into(),
        "--exit-idle-time=-1".into(),
        "--disallow-exit".into(),
        "--use-pid-file=true".into(),
        "--realtime=false".into(),
        "--high-priority=false".into(),
        "--log-target=stderr".into(),
    ];
    if std::env::var_os("SOFTPHONE_PULSE_VERBOSE").is_some() {
        args.push("-v".into());
    }
    let mut daemon = Guarded::spawn_logging(&tool("env")?, &args, opts.lifetime, d, log)?;
    daemon.wait_ready(
        "pulseaudio",
        READY_WITHIN,
        Duration::from_millis(50),
        || fs::read_to_string(&log_path).unwrap_or_default(),
        || (socket.exists() && pactl_with(env, &["info"]).is_ok()).then_some(()),
    )?;
    let mut keepers = Vec::new();
    for monitor in ["speaker.monitor", "mic.monitor"] {
        let mut args = env_args(env);
        args.extend(
            [
                "pacat",
                "--record",
                "--raw",
                "--latency-msec=10",
                "--client-name=testbed-keeper",
                "-d",
                monitor,
            ]
            .map(OsString::from),
        );
        keepers.push(Guarded::spawn(
            &tool("env")?,
            &args,
            opts.lifetime,
            d,
            Stdio::null(),
            Stdio::null(),
        )?);
    }
    Ok((daemon, keepers))
}

/// A number for unique file names in the scratch directory.
fn next_id() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn wav_duration(path: &Path) -> Result<Duration, TestbedError> {
    let r = hound::WavReader::open(path).map_err(|e| {
        TestbedError::io(
            format!("read WAV {}", path.display()),
            std::io::Error::other(e.to_string()),
        )
    })?;
    let spec = r.spec();
    Ok(Duration::from_secs_f64(
        f64::from(r.duration()) / f64::from(spec.sample_rate.max(1)),
    ))
}

fn default_pa(socket: &Path) -> String {
    format!(
        "# private headless PulseAudio for tests: no hardware, unix socket only\n\
         load-module module-native-protocol-unix auth-anonymous=1 socket={}\n\
         load-module module-null-sink sink_name=speaker rate={RATE} channels=2 \
         sink_properties=device.description=speaker\n\
         load-module module-null-sink sink_name=mic rate={RATE} channels=2 \
         sink_properties=device.description=mic\n\
         set-default-sink speaker\n\
         set-default-source mic.monitor\n",
        socket.display()
    )
}

/// Loaded after the system `alsa.conf` (and so after its hooks and `conf.d`): ALSA
/// `default` and `pulse` become the pulse plugin bound to this server.
fn asound_conf(socket: &Path) -> String {
    let server = format!("unix:{}", socket.display());
    format!(
        "# ALSA routed to the testbed's private PulseAudio\n\
         pcm.!default {{ type pulse server \"{server}\" hint {{ show on description \"testbed PulseAudio\" }} }}\n\
         ctl.!default {{ type pulse server \"{server}\" }}\n\
         pcm.!pulse {{ type pulse server \"{server}\" }}\n\
         ctl.!pulse {{ type pulse server \"{server}\" }}\n"
    )
}

fn client_env(socket: &Path, client_conf: &Path, asound: &Path) -> Vec<(String, String)> {
    let system = ["/usr/share/alsa/alsa.conf", "/etc/alsa/alsa.conf"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap_or("/usr/share/alsa/alsa.conf");
    vec![
        ("PULSE_SERVER".into(), format!("unix:{}", socket.display())),
        (
            "PULSE_CLIENTCONFIG".into(),
            client_conf.display().to_string(),
        ),
        (
            "ALSA_CONFIG_PATH".into(),
            format!("{system}:{}", asound.display()),
        ),
    ]
}

fn env_args(env: &[(String, String)]) -> Vec<OsString> {
    env.iter().map(|(k, v)| format!("{k}={v}").into()).collect()
}

fn kv(k: &str, v: &Path) -> OsString {
    let mut s = OsString::from(format!("{k}="));
    s.push(v);
    s
}

fn pactl_with(env: &[(String, String)], args: &[&str]) -> Result<String, TestbedError> {
    let env_bin = tool("env")?;
    let mut full: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    full.push("pactl".into());
    full.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let out = run_bounded(&env_bin, &refs, Duration::from_secs(5))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TestbedError::Command {
            command: format!("pactl {}", args.join(" ")),
            status: describe(Some(out.status)),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn write(path: &Path, text: &str) -> Result<(), TestbedError> {
    File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| TestbedError::io(format!("write {}", path.display()), e))
}

fn set_mode_700(p: &Path) -> Result<(), TestbedError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o700))
        .map_err(|e| TestbedError::io(format!("chmod 700 {}", p.display()), e))
}
