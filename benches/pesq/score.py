"""PESQ (ITU-T P.862, the `pesq` package) of a received recording against the reference.

    score.py REFERENCE.wav DEGRADED.wav

Both mono 16-bit at the same rate: 16 kHz is scored wideband (P.862.2), 8 kHz narrowband
(P.862.1 MOS-LQO). The degraded recording starts with whatever the receiver wrote before the
speech arrived; it is aligned first: the lag of the cross-correlation's peak (the reference
found inside the recording) is cut off, and the next reference-length stretch is scored
(zero-padded if the recording ends early). PESQ then aligns utterance by utterance itself.
Prints one JSON object: pesq, lag_ms, peak (the normalised correlation at that lag: near 1
when the speech came through, low when it did not), received_s.
"""

import json
import sys
import wave

import numpy as np
from pesq import pesq


def read(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f"{path}: want mono 16-bit, got {w.getnchannels()} ch {8 * w.getsampwidth()} bit")
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return rate, data


def main():
    ref_path, deg_path = sys.argv[1], sys.argv[2]
    rate, ref = read(ref_path)
    deg_rate, deg = read(deg_path)
    if rate != deg_rate:
        sys.exit(f"rates differ: {rate} and {deg_rate}")
    if rate not in (8000, 16000):
        sys.exit(f"PESQ scores 8 or 16 kHz, not {rate}")
    received_s = len(deg) / rate
    if len(deg) < rate // 2 or not np.any(deg):
        print(json.dumps({"pesq": None, "why": "nothing received", "received_s": received_s}))
        return
    n = 1 << int(np.ceil(np.log2(len(deg) + len(ref))))
    corr = np.fft.irfft(np.fft.rfft(deg, n) * np.conj(np.fft.rfft(ref, n)), n)
    # Only the recording lagging the reference (lags 0 .. len(deg)-1).
    lag = int(np.argmax(corr[: len(deg)]))
    seg = deg[lag : lag + len(ref)]
    if len(seg) < len(ref):
        seg = np.concatenate([seg, np.zeros(len(ref) - len(seg))])
    peak = float(corr[lag] / (np.linalg.norm(ref) * np.linalg.norm(seg) + 1e-9))
    mode = "wb" if rate == 16000 else "nb"
    try:
        score = float(pesq(rate, ref, seg, mode))
    except Exception as e:  # the package raises on e.g. no utterance found
        print(json.dumps({"pesq": None, "why": str(e), "lag_ms": 1000 * lag / rate,
                          "peak": peak, "received_s": received_s}))
        return
    print(json.dumps({"pesq": score, "mode": mode, "lag_ms": 1000 * lag / rate,
                      "peak": peak, "received_s": received_s}))


if __name__ == "__main__":
    main()
