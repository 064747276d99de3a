//! Helpers shared by the fuzz targets.

#![allow(dead_code)]

/// A small deterministic generator (xorshift64*), seeded from the input so
/// that a crash reproduces from the input file alone.
pub struct Rng(u64);

impl Rng {
    /// Seeds from an FNV-1a hash of `data` and a per-use `salt`.
    pub fn from_bytes(data: &[u8], salt: u64) -> Rng {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Cuts `data` into pieces at pseudo-random places (some empty, some one
/// byte, some long), the way a socket may deliver it.
pub fn chunks(data: &[u8], salt: u64) -> Vec<&[u8]> {
    let mut rng = Rng::from_bytes(data, salt);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = match rng.below(8) {
            0 => 0,
            1 | 2 => 1,
            3 => 2,
            4 | 5 => rng.below(8),
            _ => rng.below(64),
        }
        .min(rest.len());
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
    }
    out.push(rest); // a final empty piece
    out
}

/// The first bare CR or bare LF in `bytes` (a CR not followed by LF, or an
/// LF not preceded by CR), as an offset.
pub fn bare_cr_or_lf(bytes: &[u8]) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate() {
        let bare = match b {
            b'\r' => bytes.get(i + 1) != Some(&b'\n'),
            b'\n' => i == 0 || bytes[i - 1] != b'\r',
            _ => false,
        };
        if bare {
            return Some(i);
        }
    }
    None
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Shows bytes for an assertion message (escaped, shortened).
pub fn show(bytes: &[u8]) -> String {
    let s = bytes.escape_ascii().to_string();
    if s.len() > 600 {
        format!("{}...({} bytes)", &s[..600], bytes.len())
    } else {
        s
    }
}
