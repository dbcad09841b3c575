#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/seed-*.

Seeds come from the project's test data (SIP messages in testdata/sip, SDP in
media/testdata/sdp and the SDP bodies of the SIP messages, the config example in
testdata/config and the ```toml blocks of docs/configuration.md) and, for the binary
formats, from packets built here. Nothing is committed: the script runs before each fuzz
run (make fuzz-smoke, make fuzz-run) and rewrites its own files; what libFuzzer adds to a
corpus directory stays there.
"""

import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "fuzz" / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)


def sip_and_sdp():
    for kind in ("valid", "invalid"):
        for f in sorted((ROOT / "testdata" / "sip" / kind).glob("*.sip")):
            raw = f.read_bytes()
            write("sip_message", f"{kind}-{f.stem}", raw)
            if b"application/sdp" in raw:
                for sep in (b"\r\n\r\n", b"\n\n"):
                    if sep in raw:
                        body = raw.split(sep, 1)[1]
                        if body.strip():
                            write("sdp", f"sip-{f.stem}", body)
                        break
    for f in sorted((ROOT / "media" / "testdata" / "sdp").rglob("*.sdp")):
        write("sdp", f.stem, f.read_bytes())


def rtp(pt, seq, ts, ssrc, payload, marker=False, csrc=0, ext=None, pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | csrc
    out = struct.pack("!BBHII", b0, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    out += b"\x00\x00\x00\x07" * csrc
    if ext is not None:
        out += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def rtcp(pt, count, body):
    return struct.pack("!BBH", 0x80 | count, pt, (len(body) + 4) // 4 - 1) + body


def media_packets():
    write("rtp_rtcp", "pcmu", rtp(0, 1, 160, 0x1234, b"\xff" * 160, marker=True))
    write("rtp_rtcp", "csrc-ext-pad", rtp(8, 2, 320, 0x1234, b"\xd5" * 40, csrc=2,
                                          ext=b"\x10\x01\x00\x00", pad=4))
    block = struct.pack("!IIIIII", 0x5678, 0x01000002, 0x10000, 20, 0x1111, 0x2222)
    sr = rtcp(200, 1, struct.pack("!IIIII", 0x1234, 0xE0000000, 0, 160, 50) + struct.pack("!I", 8000) + block)
    rr = rtcp(201, 1, struct.pack("!I", 0x1234) + block)
    cname = b"agent@host"
    chunk = struct.pack("!IBB", 0x1234, 1, len(cname)) + cname
    chunk += b"\x00" * (4 - len(chunk) % 4)
    sdes = rtcp(202, 1, chunk)
    bye = rtcp(203, 1, struct.pack("!I", 0x1234) + b"\x03bye" + b"\x00" * 0)
    write("rtp_rtcp", "rtcp-sr-sdes", sr + sdes)
    write("rtp_rtcp", "rtcp-rr-sdes-bye", rr + sdes + bye)

    # telephone_event: clock byte, then (ms u16, timestamp step i16, 4-byte payload).
    def ev(ms, step, event, end, volume, duration):
        return struct.pack("!HhBBH", ms, step, event, (0x80 if end else 0) | volume, duration)

    digit = b"".join(
        [ev(0, 0, 5, False, 10, 0)]
        + [ev(50, 0, 5, False, 10, 400 * i) for i in range(1, 4)]
        + [ev(20, 0, 5, True, 10, 1600)] * 3
    )
    write("telephone_event", "one-digit", b"\x00" + digit)
    write("telephone_event", "two-digits-lost-end",
          b"\x02" + ev(0, 0, 1, False, 10, 0) + ev(50, 0, 1, False, 10, 2400)
          + ev(200, 4000, 11, False, 10, 0) + ev(1500, 0, 11, True, 10, 800))

    # jitter_buffer: mode byte, then (0.1 ms u16, seq step i8, ts step i16, flags, payload,
    # queue frames).
    def pkt(tenths, seq_step, ts_step, flags, queue=0):
        return struct.pack("!HbhBBB", tenths, seq_step, ts_step, flags, 0x55, queue)

    steady = b"".join(pkt(200, 1, 160, 0x14) for _ in range(40))
    write("jitter_buffer", "g711-steady", b"\x00" + steady)
    shuffled = b"".join(
        pkt(t, s, ts, 0x1C) for t, s, ts in
        [(200, 1, 160), (10, 2, 320), (10, -1, -160), (600, 2, 320), (0, 0, 0), (200, 1, 160)] * 8
    )
    write("jitter_buffer", "g711-reorder-dup", b"\x00" + shuffled)
    write("jitter_buffer", "opus-stretch-jump",
          b"\x03" + b"".join(pkt(200, 1, 960, 0x14, 2) for _ in range(20))
          + pkt(200, 1, 30000, 0x15) + b"".join(pkt(200, 1, 960, 0x16) for _ in range(10)))


def bridge():
    # flags: bits 0-1 method (GET, POST, OPTIONS, PUT), bit 2 WebSocket, bit 3 Origin
    # instead of the token, bit 4 JSON content type.
    get, post, options = 0, 1, 2
    json = 16
    cases = {
        "dial": (post | json, "calls", '{"to":"+4930123456"}'),
        "dial-unknown-field": (post | json, "calls", '{"to":"1002","x":1}'),
        "dtmf": (post | json, "calls/c1/dtmf", '{"digits":"12*#ab"}'),
        "blind-transfer": (post | json, "calls/c1/transfer", '{"to":"1003"}'),
        "attended-transfer": (post | json, "calls/c1/transfer", '{"replaces":"c2"}'),
        "hangup": (post, "calls/c1/hangup", ""),
        "hold-from-page": (post | 8, "calls/c1/hold", ""),
        "status": (get, "status", ""),
        "devices": (get, "devices", ""),
        "select-device": (post | json, "devices", '{"input":"default","output":null}'),
        "events": (get | 4, "events", ""),
        "events-resume": (get | 4, "events?since=12&instance=abc", ""),
        "events-bad-query": (get | 4, "events?since=-1&x=2", ""),
        "preflight": (options | 8, "calls", ""),
        "page": (get, "/softphone/", ""),
        "history": (get, "history?limit=5&before=c1", ""),
        "pop": (post | json, "calls/c1/pop", '{"tab":"t1"}'),
        "claim": (post | json, "outbox/claim", '{"tab":"t1"}'),
        "logged": (post | json, "calls/c1/log", '{"tab":"t1","task_id":"00T000000000001AAA"}'),
        "log-failed": (post | json, "calls/c1/log", '{"tab":"t1","error":"FIELD_INTEGRITY_EXCEPTION"}'),
        "crm": (3 | json, "calls/c1/crm", '{"id":"003000000000001AAA","name":"Ada","object_type":"Contact"}'),
        "wrapup": (post | json, "calls/c1/wrapup", '{"disposition":"Resolved","notes":"a\nb"}'),
        "agent-status": (post | json, "agent/status", '{"state":"dnd"}'),
    }
    for name, (flags, target, body) in cases.items():
        write("bridge_http", name, bytes([flags]) + f"{target}\n{body}".encode())


def configs():
    write("config", "example", (ROOT / "testdata" / "config" / "example.toml").read_bytes())
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for i, block in enumerate(re.findall(r"```toml\n(.*?)```", doc, re.S)):
        write("config", f"docs-{i}", block)
    write("config", "tcp-origins", """[sip]
server = "[::1]:5060"
transport = "tcp"
user = "1001"
password = "x"
[bridge]
listen = "127.0.0.1:0"
token = "abc"
allowed_origins = ["https://*.my.salesforce.com", "http://localhost:8080"]
""")


if __name__ == "__main__":
    sip_and_sdp()
    media_packets()
    bridge()
    configs()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {sum(1 for _ in d.glob('seed-*'))} seeds")
