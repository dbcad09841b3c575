#!/usr/bin/env bash
# Installs what the tests and the demo need on Debian 12 (bookworm): the real SIP peers
# (Kamailio, SIPp, baresip, linphone), audio plumbing without hardware (PulseAudio null sinks,
# ALSA plugins), and build tools for the audio crates.
#
# Idempotent and fast when nothing is missing: packages are checked with `dpkg -s` first and
# apt-get runs only for the missing ones. Runs apt-get as root, or through sudo.
set -euo pipefail

PACKAGES=(
  # SIP peers for end-to-end tests
  kamailio            # the PBX stand-in (registrar, digest auth, routing)
  kamailio-tls-modules  # its TLS listener, for SIP over TLS tests (tests/tls.rs)
  sip-tester          # SIPp (binary `sipp`)
  baresip             # far-end UA (auto-answer, echo, record)
  linphone-cli        # second independent UA (linphonec)
  # audio without a sound card
  pulseaudio
  pulseaudio-utils
  libasound2-plugins
  alsa-utils
  sox
  # voice quality under impairment (make bench-pesq): speech, a network namespace with
  # iptables' NFQUEUE as the impairment (the kernel may lack netem), and a virtualenv for
  # `pesq` and `NetfilterQueue` (scripts/pesq-venv.sh), whose builds need the headers
  espeak-ng
  iproute2            # also ip netns (tests/network_change.rs) and ss -K (tests/tls.rs)
  iptables
  python3-venv
  python3-dev
  gcc
  libnetfilter-queue-dev
  # build: make itself, audio device crates (ALSA headers), codecs
  make
  cmake
  libasound2-dev
  pkg-config
  # browser tests: Debian's Chromium, driven by playwright-core (never a downloaded browser)
  chromium
  # diagnostics and the demo
  tcpdump
  curl                # demo: query the bridge
)
# Node.js for the stand-in Salesforce console (tests/browser/console) and npm for the browser
# tests, from Debian unless already there: a Node.js from elsewhere (e.g. NodeSource) brings
# its own npm, which Debian's npm package would clash with.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  # "install ok installed" is the only state in which the package is really there.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"

  # On a systemd host the package starts a system Kamailio with Debian's config, listening
  # on every interface. Tests start their own on 127.0.0.1: stop the freshly installed one.
  if [[ " ${missing[*]} " == *" kamailio "* && -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now kamailio.service >/dev/null 2>&1 || true
  fi
fi

# The Rust toolchain is not a Debian package here (rustup): only check it.
if ! command -v cargo >/dev/null 2>&1 && [[ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
  echo "install-deps: cargo not found. Install Rust with rustup (https://rustup.rs):" >&2
  echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y" >&2
  echo "then open a new shell (or: . \"\$HOME/.cargo/env\") and run make again." >&2
  exit 1
fi

# Sanity: the binaries the tests look for (kamailio and kamcmd live in /usr/sbin).
for bin in kamailio kamcmd sipp; do
  if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$bin ]]; then
    echo "install-deps: $bin still missing after install" >&2
    exit 1
  fi
done
echo "install-deps: ok ($(cargo --version 2>/dev/null || echo 'cargo in ~/.cargo/bin'))"
