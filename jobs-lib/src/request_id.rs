//! `RequestIdentifier`: 16 random bytes naming one request, as geard's
//! `jobs.RequestIdentifier`: `exact()` is URL-safe base64 with padding (24
//! characters), `to_string()` the same without `=` (22), and parsing takes
//! either of those or 32 hexadecimal digits.

use std::fmt;
use std::str::FromStr;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// 16 bytes naming a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestIdentifier(pub [u8; 16]);

/// A string that is not a request identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Request ID must be 22 base64 characters or 32 hexadecimal characters (got {0:?}).")]
pub struct RequestIdError(pub String);

impl RequestIdentifier {
    /// A new random identifier (from the OS's random source).
    pub fn new_random() -> RequestIdentifier {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).expect("the OS random source works");
        RequestIdentifier(b)
    }

    /// URL-safe base64 with padding, 24 characters (geard's `Exact()`).
    pub fn exact(&self) -> String {
        let mut out = String::with_capacity(24);
        for chunk in self.0.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    /// Lower-case hexadecimal, 32 characters (used for journal file names).
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for RequestIdentifier {
    /// [`RequestIdentifier::exact`] without the padding (22 characters).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.exact().trim_end_matches('='))
    }
}

impl FromStr for RequestIdentifier {
    type Err = RequestIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || RequestIdError(s.to_owned());
        let mut out = [0u8; 16];
        match s.len() {
            32 => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
                        .map_err(|_| bad())?;
                }
            }
            22 | 24 => {
                let body = if s.len() == 24 {
                    s.strip_suffix("==").ok_or_else(bad)?
                } else {
                    s
                };
                let mut bits: u32 = 0;
                let mut nbits = 0;
                let mut n = 0;
                for c in body.bytes() {
                    let v = B64.iter().position(|&x| x == c).ok_or_else(bad)? as u32;
                    bits = (bits << 6) | v;
                    nbits += 6;
                    if nbits >= 8 {
                        nbits -= 8;
                        if n == 16 {
                            return Err(bad());
                        }
                        out[n] = (bits >> nbits) as u8;
                        n += 1;
                    }
                }
                // 22 characters carry 132 bits: 128 of data and 4 zero bits.
                if n != 16 || bits & ((1 << nbits) - 1) != 0 {
                    return Err(bad());
                }
            }
            _ => return Err(bad()),
        }
        Ok(RequestIdentifier(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_spelling() {
        for _ in 0..50 {
            let r = RequestIdentifier::new_random();
            assert_eq!(r.exact().len(), 24);
            assert!(r.exact().ends_with("=="));
            assert_eq!(r.to_string().len(), 22);
            assert_eq!(r.exact().parse::<RequestIdentifier>().unwrap(), r);
            assert_eq!(r.to_string().parse::<RequestIdentifier>().unwrap(), r);
            assert_eq!(r.hex().parse::<RequestIdentifier>().unwrap(), r);
        }
    }

    #[test]
    fn matches_standard_base64url() {
        // base64url of 0x00..0x0f is AAECAwQFBgcICQoLDA0ODw==
        let r = RequestIdentifier(core::array::from_fn(|i| i as u8));
        assert_eq!(r.exact(), "AAECAwQFBgcICQoLDA0ODw==");
        assert_eq!(r.to_string(), "AAECAwQFBgcICQoLDA0ODw");
        let ff = RequestIdentifier([0xff; 16]);
        assert_eq!(ff.exact(), "_____________________w==");
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "short",
            "AAECAwQFBgcICQoLDA0OD+",
            "zz0102030405060708090a0b0c0d0e0f",
            "AAECAwQFBgcICQoLDA0ODx",
        ] {
            assert!(s.parse::<RequestIdentifier>().is_err(), "{s}");
        }
    }
}
