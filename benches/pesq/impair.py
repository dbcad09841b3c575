"""Network impairment of the run's loopback, in user space (the machine's kernel has no netem).

    impair.py --queue N [--loss P] [--delay-ms D --jitter-ms J] --seed S

An iptables rule (benches/pesq/netns.rs) sends the UDP packets to impair to NFQUEUE N; this
program takes each one and drops it with probability P, or holds it for D + a normal deviate
of sigma J milliseconds (clipped at 0) and lets it go then, so that packets overtake one
another as netem's jitter makes them; without a delay it lets it go at once.

The rule queues one sender's packets only; its RTP (even source port) and its RTCP (odd)
each draw from their own random generator, seeded from S and which of the two it is: the
n-th RTP packet meets the same fate in every call seeded alike, whatever ports the call
uses, so the two receivers of a comparison face the same losses and the same delays.

Runs until SIGTERM, then lets every held packet go and prints its counts as JSON on stdout.

With --capture DIR it also writes what the sender sent, for offline decoding
(media/examples/jitter_replay.rs --packets/--drop): DIR/rtp.bin, each RTP packet's payload
in the order sent as a 32-bit little-endian length and the bytes, and DIR/dropped.json, the
0-based indices of those it dropped.
"""

import argparse
import heapq
import json
import random
import select
import signal
import struct
import sys
import time

from netfilterqueue import NetfilterQueue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue", type=int, required=True)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--jitter-ms", type=float, default=0.0)
    ap.add_argument("--seed", default="0")
    ap.add_argument("--capture", default=None)
    a = ap.parse_args()
    captured = []  # (rtp payload, dropped)

    flows = {}
    held = []  # (due, n, packet)
    counts = {"seen": 0, "dropped": 0, "delayed": 0, "flows": 0}
    n = [0]

    def flow_of(payload):
        ihl = (payload[0] & 0x0F) * 4
        sport, _dport = struct.unpack("!HH", payload[ihl : ihl + 4])
        return "rtcp" if sport % 2 else "rtp"

    def rtp_payload(payload):
        """The RTP payload of an IPv4/UDP packet (RFC 3550 5.1: CSRCs, extension, padding)."""
        rtp = payload[(payload[0] & 0x0F) * 4 + 8 :]
        if len(rtp) < 12:
            return b""
        start = 12 + 4 * (rtp[0] & 0x0F)
        if rtp[0] & 0x10 and len(rtp) >= start + 4:
            start += 4 + 4 * struct.unpack("!H", rtp[start + 2 : start + 4])[0]
        end = len(rtp) - (rtp[-1] if rtp[0] & 0x20 else 0)
        return rtp[start:end]

    def rng_of(key):
        if key not in flows:
            flows[key] = random.Random(f"{a.seed}/{key}")
            counts["flows"] += 1
        return flows[key]

    def on_packet(pkt):
        counts["seen"] += 1
        payload = pkt.get_payload()
        key = flow_of(payload)
        rng = rng_of(key)
        # Both draws every time, so a flow's sequence does not depend on earlier outcomes.
        lost = rng.random() < a.loss
        if a.capture and key == "rtp":
            captured.append((rtp_payload(payload), lost))
        delay = max(0.0, rng.gauss(a.delay_ms, a.jitter_ms)) if (a.delay_ms or a.jitter_ms) else 0.0
        if lost:
            counts["dropped"] += 1
            pkt.drop()
        elif delay > 0:
            counts["delayed"] += 1
            pkt.retain()
            n[0] += 1
            heapq.heappush(held, (time.monotonic() + delay / 1000.0, n[0], pkt))
        else:
            pkt.accept()

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))

    q = NetfilterQueue()
    q.bind(a.queue, on_packet, max_len=4096)
    fd = q.get_fd()
    print("ready", file=sys.stderr, flush=True)
    try:
        while not stop[0]:
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
            timeout = 0.2 if not held else max(0.0, held[0][0] - time.monotonic())
            try:
                ready, _, _ = select.select([fd], [], [], timeout)
            except InterruptedError:
                continue
            if ready:
                q.run(block=False)
    finally:
        while held:
            heapq.heappop(held)[2].accept()
        q.unbind()
        if a.capture:
            write_capture(a.capture, captured)
    print(json.dumps(counts), flush=True)


def write_capture(directory, captured):
    with open(f"{directory}/rtp.bin", "wb") as f:
        for body, _ in captured:
            f.write(struct.pack("<I", len(body)) + body)
    with open(f"{directory}/dropped.json", "w") as f:
        json.dump([i for i, (_, lost) in enumerate(captured) if lost], f)


if __name__ == "__main__":
    main()
