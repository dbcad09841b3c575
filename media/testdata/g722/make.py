"""Makes the G.722 reference files of media/src/g722.rs's `bit_exact_with_spandsp` test
with spandsp's G.722 (libspandsp.so.2, Debian's libspandsp2; baresip's g722 module uses it).

    python3 make.py      # in this directory; needs libspandsp.so.2
"""
import ctypes
import math
import random
import struct

lib = ctypes.CDLL("libspandsp.so.2")
lib.g722_encode_init.restype = ctypes.c_void_p
lib.g722_decode_init.restype = ctypes.c_void_p
lib.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_int]
lib.g722_decode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16), ctypes.c_char_p, ctypes.c_int]

random.seed(722)
n = 8000
x = []
for i in range(n):
    t = i / 16000.0
    if i < 3000:  # a voice-like glide with harmonics
        f0 = 140 + 60 * math.sin(2 * math.pi * 2.5 * t)
        v = sum(0.5 / k * math.sin(2 * math.pi * f0 * k * t) for k in range(1, 9)) * 12000
    elif i < 5000:  # 7 kHz and 300 Hz
        v = 9000 * math.sin(2 * math.pi * 7000 * t) + 9000 * math.sin(2 * math.pi * 300 * t)
    elif i < 6500:  # full-scale noise
        v = random.randint(-32768, 32767)
    else:  # silence, then a click
        v = 32767 if i == 7000 else 0
    x.append(max(-32768, min(32767, int(v))))

# 64 kbit/s, unpacked, 16 kHz (options 0).
enc = lib.g722_encode_init(None, 64000, 0)
dec = lib.g722_decode_init(None, 64000, 0)
pcm_in = (ctypes.c_int16 * n)(*x)
out = ctypes.create_string_buffer(n)
m = lib.g722_encode(enc, out, pcm_in, n)
coded = out.raw[:m]
pcm = (ctypes.c_int16 * n)()
assert lib.g722_decode(dec, pcm, coded, m) == n

rnd = bytes(random.randrange(256) for _ in range(3000))
dec2 = lib.g722_decode_init(None, 64000, 0)
pcm2 = (ctypes.c_int16 * 6000)()
assert lib.g722_decode(dec2, pcm2, rnd, 3000) == 6000

open("input.raw", "wb").write(struct.pack("<%dh" % n, *x))
open("spandsp.g722", "wb").write(coded)
open("spandsp_decoded.raw", "wb").write(struct.pack("<%dh" % n, *pcm))
open("random.g722", "wb").write(rnd)
open("random_spandsp_decoded.raw", "wb").write(struct.pack("<6000h", *pcm2))
