#!/usr/bin/env bash
# `make demo`: a local PBX (Kamailio, from tests/kamailio/), a far end (baresip as 1002,
# answering every call and echoing its audio; it is also the PBX's carrier trunk, so outside
# numbers such as the CRM's reach it too) and the agent registered as 1001, everything on
# 127.0.0.1, files under run/demo/. The agent then places a call to 1002 through the bridge
# (as the Salesforce page would) for a few seconds and hangs up; with the tone source the
# echoed audio it recorded is measured. Then the stand-in Salesforce console
# (tests/browser/console) starts, framing the softphone page the agent serves: open its URL,
# click a phone number, and the call goes through the PBX to the far end. Ctrl-C stops all.
#
# Settings (environment): DEMO_SIP_PORT (5070), DEMO_BRIDGE (127.0.0.1:18088),
# DEMO_CONSOLE_PORT (18090), DEMO_AUDIO (auto: your microphone and speakers when a sound
# server or card is there, else "tone": a 440 Hz tone in, a WAV file out; or "device"),
# DEMO_LIFETIME (3600 s: the processes end by themselves after it), SOFTPHONE_BIN.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN=$ROOT/run/demo
SIP_PORT=${DEMO_SIP_PORT:-5070}
BRIDGE=${DEMO_BRIDGE:-127.0.0.1:18088}
LIFETIME=${DEMO_LIFETIME:-3600}
CONSOLE_PORT=${DEMO_CONSOLE_PORT:-18090}
AUDIO=${DEMO_AUDIO:-auto}
BIN=${SOFTPHONE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/softphone}

# kamailio and kamcmd live in /usr/sbin, not on every user's PATH.
export PATH=$PATH:/usr/sbin:/sbin
for tool in kamailio kamcmd timeout; do
  command -v "$tool" >/dev/null || { echo "demo: $tool missing: run make deps" >&2; exit 1; }
done
[[ -x $BIN ]] || { echo "demo: $BIN not built: run make demo (or cargo build)" >&2; exit 1; }

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  # The agent first: it unregisters from Kamailio on SIGTERM.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    # Still there after 5 s: `timeout` leads its own process group, kill all of it.
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  echo "demo: logs kept in $RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$RUN"
mkdir -p "$RUN/kamailio" "$RUN/data"
cp -r "$ROOT/tests/kamailio/dbtext" "$RUN/kamailio/"
# Outside numbers (7+ digits) go to the carrier trunk: here the far end, so a click on any
# CRM number in the console reaches it.
FAR_END=no
if command -v baresip >/dev/null && command -v cc >/dev/null; then FAR_END=yes; fi
TRUNK=
[[ $FAR_END == yes ]] && TRUNK=127.0.0.1:$((SIP_PORT + 2))
sed -e "s#@RUN_DIR@#$RUN/kamailio#g" -e "s#@PORT@#$SIP_PORT#g" -e "s#@ALGORITHM@#MD5#g" -e "s#@TRUNK@#$TRUNK#g" -e "s#@TLS_PORT@#0#g" \
  "$ROOT/tests/kamailio/kamailio.cfg.in" >"$RUN/kamailio/kamailio.cfg"

echo "demo: starting Kamailio on udp+tcp 127.0.0.1:$SIP_PORT (users 1001-1003, secret<user>)"
timeout --signal=TERM --kill-after=5 "$LIFETIME" \
  kamailio -f "$RUN/kamailio/kamailio.cfg" -DD -E -Y "$RUN/kamailio" \
  -P "$RUN/kamailio/kamailio.pid" -w "$RUN/kamailio" -m 32 \
  >"$RUN/kamailio/kamailio.log" 2>&1 &
pids+=($!)
CTL=unix:$RUN/kamailio/kamailio_ctl
for _ in $(seq 100); do
  kamcmd -s "$CTL" core.uptime >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$RUN/kamailio/kamailio.log" >&2; exit 1; }
  sleep 0.1
done

# The far end: baresip as 1002, auto-answer, echo. Its DNS socket would bind 0.0.0.0, so it
# runs with the testbed's loopback shim (compiled here with cc).
if [[ $FAR_END == yes ]]; then
  mkdir -p "$RUN/baresip"
  cc -shared -fPIC -O2 -o "$RUN/bind_loopback.so" "$ROOT/crates/testbed/shim/bind_loopback.c" -ldl
  cat >"$RUN/baresip/config" <<BARESIP
poll_method epoll
sip_listen 127.0.0.1:$((SIP_PORT + 2))
net_interface 127.0.0.1
dns_server 127.0.0.1:53
audio_player aubridge,echo1
audio_source aubridge,echo1
auplay_srate 8000
auplay_channels 1
ausrc_srate 8000
ausrc_channels 1
rtp_ports 41000-41100
module_path /usr/lib/baresip/modules
module g711.so
module aubridge.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:$((SIP_PORT + 3))
BARESIP
  {
    echo "<sip:1002@127.0.0.1:$SIP_PORT;transport=udp>;auth_pass=secret1002;regint=60;answermode=auto"
    # The carrier's side of the trunk: the console's CRM numbers as the PBX passes them on
    # (national, and 1 + national for +1 numbers), answered without registering. baresip
    # answers only users it knows ("UA not found" otherwise).
    for n in 5550102000 5550103000 5550104000; do
      echo "<sip:$n@127.0.0.1>;regint=0;answermode=auto"
      echo "<sip:1$n@127.0.0.1>;regint=0;answermode=auto"
    done
  } >"$RUN/baresip/accounts"
  echo "demo: starting baresip as 1002 and as the trunk's far end (auto-answer, echo)"
  LD_PRELOAD=$RUN/bind_loopback.so timeout --signal=TERM --kill-after=5 "$LIFETIME" \
    baresip -f "$RUN/baresip" >"$RUN/baresip/baresip.log" 2>&1 &
  pids+=($!)
else
  echo "demo: baresip or cc missing (run make deps): no far end, no demo call"
fi

# Audio: the machine's sound devices when there are any (so you can talk to the echo), else
# a tone in and a WAV file out (measured below).
if [[ $AUDIO == auto ]]; then
  AUDIO=tone
  if [[ -e /dev/snd ]] || { command -v pactl >/dev/null && pactl info >/dev/null 2>&1; }; then
    AUDIO=device
  fi
fi
case $AUDIO in
  device) AUDIO_IN=device:default AUDIO_OUT=device:default ;;
  tone) AUDIO_IN=tone:440 AUDIO_OUT=file:$RUN/call.wav ;;
  *) echo "demo: DEMO_AUDIO must be auto, tone or device, not $AUDIO" >&2; exit 1 ;;
esac
BRIDGE_PORT=${BRIDGE##*:}
CONSOLE_ORIGIN=http://localhost:$CONSOLE_PORT

TOKEN=demo-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
cat >"$RUN/agent.toml" <<EOF
# generated by scripts/demo.sh
[sip]
server = "127.0.0.1:$SIP_PORT"
transport = "udp"
user = "1001"
password = "secret1001"
listen = "127.0.0.1:0"

[bridge]
listen = "$BRIDGE"
token = "$TOKEN"
# The stand-in Salesforce console frames the page and serves its Open CTI library.
allowed_origins = ["$CONSOLE_ORIGIN"]

[audio]
input = "$AUDIO_IN"
output = "$AUDIO_OUT"

# North American numbering, like the console's CRM: "(555) 010-2000" and "+1 555 010 4000"
# both dial; callers' national numbers are shown as +1..., matching E.164 records.
[dial_plan]
country_code = "1"
national_prefix = "1"
international_prefix = "011"

[log]
level = "info"
sip_trace = true
EOF

echo "demo: starting the agent: $BIN run --config $RUN/agent.toml"
SOFTPHONE_DATA_DIR=$RUN/data timeout --signal=TERM --kill-after=5 "$LIFETIME" \
  "$BIN" run --config "$RUN/agent.toml" >"$RUN/softphone.log" 2>&1 &
pids+=($!)
agent=${pids[${#pids[@]} - 1]}

registered=no
for _ in $(seq 150); do
  if kamcmd -s "$CTL" ul.dump 2>/dev/null | grep -q "AoR: 1001"; then registered=yes; break; fi
  kill -0 "$agent" 2>/dev/null || break
  sleep 0.1
done

AUTH="Authorization: Bearer $TOKEN"
echo
echo "== bridge: curl -H '$AUTH' http://$BRIDGE/api/v1/status"
curl -sS --max-time 3 -H "$AUTH" "http://$BRIDGE/api/v1/status" || true
echo

if [[ -f $RUN/baresip/accounts ]]; then
  for _ in $(seq 100); do
    kamcmd -s "$CTL" ul.dump 2>/dev/null | grep -q "AoR: 1002" && break
    sleep 0.1
  done
  echo
  echo "== a call: POST /api/v1/calls {\"to\": \"1002\"}"
  answer=$(curl -sS --max-time 5 -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"to": "1002"}' "http://$BRIDGE/api/v1/calls" || true)
  echo "$answer"
  id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$answer")
  if [[ -n $id ]]; then
    sleep 4
    echo "== during the call: GET /api/v1/status"
    curl -sS --max-time 3 -H "$AUTH" "http://$BRIDGE/api/v1/status"
    echo
    echo "== hang up: POST /api/v1/calls/$id/hangup"
    curl -sS --max-time 3 -H "$AUTH" -X POST "http://$BRIDGE/api/v1/calls/$id/hangup"
    echo
    sleep 1
    if [[ $AUDIO == tone ]] && command -v sox >/dev/null && [[ -f $RUN/call.wav ]]; then
      echo "== the far end's echo of our 440 Hz tone, as recorded in $RUN/call.wav:"
      sox "$RUN/call.wav" -n stat 2>&1 | grep -E "Length|RMS +amplitude|Rough +frequency" || true
    fi
  fi
fi
echo
echo "== kamcmd -s $CTL ul.dump   (1001 registered: $registered)"
kamcmd -s "$CTL" ul.dump || true
echo
echo "== logs: $RUN/softphone.log, $RUN/kamailio/kamailio.log"
if ! kill -0 "$agent" 2>/dev/null; then
  echo "demo: the agent exited:" >&2
  cat "$RUN/softphone.log" >&2
  exit 1
fi

# The stand-in Salesforce console on its own origin (localhost, not 127.0.0.1), framing the
# page the agent serves, as Lightning frames the Call Center's adapter URL.
CONSOLE_URL=
if command -v node >/dev/null; then
  : >"$RUN/console.log"
  timeout --signal=TERM --kill-after=5 "$LIFETIME" \
    node "$ROOT/tests/browser/console/server.mjs" --port "$CONSOLE_PORT" \
    --adapter-url "http://127.0.0.1:$BRIDGE_PORT/softphone/" --bridge-port "$BRIDGE_PORT" \
    >"$RUN/console.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    CONSOLE_URL=$(sed -n 's/^console listening on //p' "$RUN/console.log")
    [[ -n $CONSOLE_URL ]] && break
    kill -0 "${pids[${#pids[@]} - 1]}" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $CONSOLE_URL ]] || { echo "demo: the console did not start:" >&2; cat "$RUN/console.log" >&2; }
else
  echo "demo: node missing (run make deps): no Salesforce console"
fi
if [[ -n $CONSOLE_URL ]]; then
  far="the far end (baresip, echoing what you say)"
  [[ $FAR_END == yes ]] || far="nobody: baresip is missing, the PBX answers 404 (run make deps)"
  cat <<BANNER

  ============================================================================================
    Open the stand-in Salesforce console:   $CONSOLE_URL

    Click a phone number (Ada, Grace or Acme): the softphone dials it through the PBX to
    $far.
    Calls pop the record and log a Task. Audio: $AUDIO ($AUDIO_IN -> $AUDIO_OUT).
    The page alone: http://127.0.0.1:$BRIDGE_PORT/softphone/
  ============================================================================================

BANNER
fi
echo "== following the agent's log; Ctrl-C stops everything"
tail -n 20 -f "$RUN/softphone.log" &
pids+=($!)
wait "$agent" || true
