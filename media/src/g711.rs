//! G.711 PCMU (mu-law) and PCMA (A-law) encode/decode, bit-exact with the ITU-T G.191
//! reference implementation (`g711.c`), through tables built at compile time.
//!
//! Note the reference takes the one's complement of negative samples before quantising
//! (`~x >> 2`), which differs from the common "negate then shift" encoder at segment edges
//! (e.g. -1 encodes to 0x7F, not 0x7E).

/// mu-law byte -> 16-bit linear.
pub static ULAW_TO_LINEAR: [i16; 256] = build_ulaw_decode();
/// A-law byte -> 16-bit linear.
pub static ALAW_TO_LINEAR: [i16; 256] = build_alaw_decode();
/// mu-law encoder indexed by `sample >> 2` (14 significant bits) offset by 8192.
static LINEAR14_TO_ULAW: [u8; 16384] = build_ulaw_encode();
/// A-law encoder indexed by `sample >> 4` (12 significant bits) offset by 2048.
static LINEAR12_TO_ALAW: [u8; 4096] = build_alaw_encode();

/// G.191 `ulaw_compress` for one sample.
pub const fn ulaw_compress_ref(lin: i16) -> u8 {
    let mut absno: i32 = if lin < 0 {
        ((!lin) >> 2) as i32 + 33
    } else {
        (lin >> 2) as i32 + 33
    };
    if absno > 0x1FFF {
        absno = 0x1FFF;
    }
    let mut i = absno >> 6;
    let mut segno = 1;
    while i != 0 {
        segno += 1;
        i >>= 1;
    }
    let high = 8 - segno;
    let low = 0x0F - ((absno >> segno) & 0x0F);
    let mut out = (high << 4) | low;
    if lin >= 0 {
        out |= 0x80;
    }
    out as u8
}

/// G.191 `ulaw_expand` for one byte.
pub const fn ulaw_expand_ref(log: u8) -> i16 {
    let sign: i32 = if log < 0x80 { -1 } else { 1 };
    let mantissa = !(log as i32);
    let exponent = (mantissa >> 4) & 0x07;
    let segment = exponent + 1;
    let mantissa = mantissa & 0x0F;
    let step = 4 << segment;
    (sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33)) as i16
}

/// G.191 `alaw_compress` for one sample.
pub const fn alaw_compress_ref(lin: i16) -> u8 {
    let mut ix: i32 = if lin < 0 {
        ((!lin) >> 4) as i32
    } else {
        (lin >> 4) as i32
    };
    if ix > 15 {
        let mut iexp = 1;
        while ix > 16 + 15 {
            ix >>= 1;
            iexp += 1;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if lin >= 0 {
        ix |= 0x80;
    }
    (ix ^ 0x55) as u8
}

/// G.191 `alaw_expand` for one byte.
pub const fn alaw_expand_ref(log: u8) -> i16 {
    let ix = ((log ^ 0x55) & 0x7F) as i32;
    let iexp = ix >> 4;
    let mut mant = ix & 0x0F;
    if iexp > 0 {
        mant += 16;
    }
    mant = (mant << 4) + 8;
    if iexp > 1 {
        mant <<= iexp - 1;
    }
    (if log > 127 { mant } else { -mant }) as i16
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_expand_ref(i as u8);
        i += 1;
    }
    t
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_expand_ref(i as u8);
        i += 1;
    }
    t
}

const fn build_ulaw_encode() -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        // The encoder only looks at lin >> 2 (also for ~lin >> 2 == !(lin >> 2)).
        let lin = ((i as i32 - 8192) << 2) as i16;
        t[i] = ulaw_compress_ref(lin);
        i += 1;
    }
    t
}

const fn build_alaw_encode() -> [u8; 4096] {
    let mut t = [0u8; 4096];
    let mut i = 0;
    while i < 4096 {
        let lin = ((i as i32 - 2048) << 4) as i16;
        t[i] = alaw_compress_ref(lin);
        i += 1;
    }
    t
}

/// Encode one sample to mu-law.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    LINEAR14_TO_ULAW[((sample >> 2) as i32 + 8192) as usize]
}

/// Encode one sample to A-law.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    LINEAR12_TO_ALAW[((sample >> 4) as i32 + 2048) as usize]
}

/// Decode one mu-law byte (the decoder reads [`ULAW_TO_LINEAR`] directly).
#[cfg(test)]
pub(crate) fn ulaw_decode(byte: u8) -> i16 {
    ULAW_TO_LINEAR[byte as usize]
}

/// Decode one A-law byte (the decoder reads [`ALAW_TO_LINEAR`] directly).
#[cfg(test)]
pub(crate) fn alaw_decode(byte: u8) -> i16 {
    ALAW_TO_LINEAR[byte as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic 256-entry mu-law decode table (as in the ITU reference and every
    /// telephony stack), first and last rows.
    #[test]
    fn ulaw_decode_known_values() {
        let head = [
            -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,
        ];
        assert_eq!(&ULAW_TO_LINEAR[..8], &head);
        let row = [-8, 0];
        assert_eq!(&ULAW_TO_LINEAR[126..128], &row);
        assert_eq!(ULAW_TO_LINEAR[0x80], 32124);
        assert_eq!(ULAW_TO_LINEAR[0xFE], 8);
        assert_eq!(ULAW_TO_LINEAR[0xFF], 0);
        assert_eq!(ULAW_TO_LINEAR[0x70], -120);
        assert_eq!(ULAW_TO_LINEAR[0x0F], -16764); // end of the first segment row
    }

    #[test]
    fn alaw_decode_known_values() {
        assert_eq!(ALAW_TO_LINEAR[0xD5], 8);
        assert_eq!(ALAW_TO_LINEAR[0x55], -8);
        assert_eq!(ALAW_TO_LINEAR[0xAA], 32256);
        assert_eq!(ALAW_TO_LINEAR[0x2A], -32256);
        let head = [-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736];
        assert_eq!(&ALAW_TO_LINEAR[..8], &head);
    }

    #[test]
    fn encode_known_values_and_segment_edges() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F); // naive encoders give 0x7E
        assert_eq!(ulaw_encode(-4), 0x7F);
        assert_eq!(ulaw_encode(-5), 0x7E);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
    }

    #[test]
    fn tables_match_reference_for_every_sample() {
        for x in i16::MIN..=i16::MAX {
            assert_eq!(ulaw_encode(x), ulaw_compress_ref(x), "ulaw {x}");
            assert_eq!(alaw_encode(x), alaw_compress_ref(x), "alaw {x}");
        }
    }

    #[test]
    fn round_trip_of_every_code() {
        for b in 0..=255u8 {
            let want = if b == 0x7F { 0xFF } else { b }; // -0 and +0 both decode to 0
            assert_eq!(ulaw_encode(ulaw_decode(b)), want, "ulaw {b:#x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "alaw {b:#x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_error_is_bounded() {
        let mut prev = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let u = ulaw_decode(ulaw_encode(x));
            let a = alaw_decode(alaw_encode(x));
            assert!(u >= prev, "mu-law not monotonic at {x}");
            prev = u;
            let mag = (x as i32).abs();
            let bound = (mag / 16).max(8) + 4; // ~ half a step in each segment, plus clipping
            if mag < 32000 {
                assert!((u as i32 - x as i32).abs() <= bound + 4, "ulaw {x} -> {u}");
                assert!((a as i32 - x as i32).abs() <= bound + 8, "alaw {x} -> {a}");
            }
        }
    }
}
