//! Deserialization helpers: JSON paths in errors and value rules that are
//! clearer when checked while parsing (port ranges, memory sizes).

use super::{Definition, FieldError, MilliCpus, Notify};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Serializer;
use std::fmt;

/// Parses `bytes` as a [`Definition`], reporting the JSON path of the field
/// that failed (`Ports[0].Internal`, `.` for the document).
pub(super) fn from_json(bytes: &[u8]) -> Result<Definition, FieldError> {
    // serde's derived structs also accept a JSON array; a definition is an
    // object only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FieldError::new(
            ".",
            "a definition is a JSON object ({...})",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let def: Definition = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "?" {
            // serde_path_to_error's "no known position" (e.g. truncated JSON).
            path = ".".into();
        }
        FieldError::new(path, shorten_unknown_field(&e.into_inner().to_string()))
    })?;
    de.end()
        .map_err(|e| FieldError::new(".", format!("trailing data after the JSON object: {e}")))?;
    Ok(def)
}

/// Parses an already merged JSON document (a definition with its
/// drop-ins) as a [`Definition`], reporting the JSON path of the field
/// that failed, as [`from_json`] does (without a line and column: the
/// merged document is no one file).
pub(super) fn from_value(v: serde_json::Value) -> Result<Definition, FieldError> {
    if !v.is_object() {
        return Err(FieldError::new(
            ".",
            "a definition is a JSON object ({...})",
        ));
    }
    serde_path_to_error::deserialize(v).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "?" {
            path = ".".into();
        }
        FieldError::new(path, shorten_unknown_field(&e.into_inner().to_string()))
    })
}

struct PortVisitor {
    allow_zero: bool,
}

impl Visitor<'_> for PortVisitor {
    type Value = u16;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.allow_zero {
            f.write_str("a port number from 0 (allocate) to 65535")
        } else {
            f.write_str("a port number from 1 to 65535")
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u16, E> {
        let min = if self.allow_zero { 0 } else { 1 };
        if v < min || v > 65535 {
            return Err(E::invalid_value(Unexpected::Unsigned(v), &self));
        }
        Ok(v as u16)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u16, E> {
        if v < 0 {
            return Err(E::invalid_value(Unexpected::Signed(v), &self));
        }
        self.visit_u64(v as u64)
    }
}

/// A port that must be 1–65535.
pub(super) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    // 0 is meaningful only for `External`; the validator rejects it elsewhere
    // with a message naming that field's rule.
    d.deserialize_u64(PortVisitor { allow_zero: true })
}

/// An optional port (`Backend`).
pub(super) fn opt_port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    d.deserialize_u64(PortVisitor { allow_zero: false })
        .map(Some)
}

struct MemoryVisitor;

impl Visitor<'_> for MemoryVisitor {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number of bytes, or a string of digits with an optional k, m or g suffix")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Err(E::invalid_value(Unexpected::Signed(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_size(v)
            .map(Some)
            .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// Parses `512m`-style sizes (suffixes k/m/g, case-insensitive, powers of
/// 1024, as podman's `--memory` takes them). `None` on any other shape or
/// on overflow.
pub fn parse_size(s: &str) -> Option<u64> {
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        b'b' | b'B' => (&s[..s.len() - 1], 1),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// `MemoryLimit`: bytes as a number, or a size string.
pub(super) fn memory_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(MemoryVisitor)
}

/// serde lists every expected field after an unknown one; a definition has
/// two dozen, so keep the message to the closest match.
fn shorten_unknown_field(msg: &str) -> String {
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return msg.to_owned();
    };
    let Some((name, tail)) = rest.split_once('`') else {
        return msg.to_owned();
    };
    let position = tail.rfind(" at line ").map(|i| &tail[i..]).unwrap_or("");
    let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let best = expected
        .iter()
        .map(|e| {
            (
                edit_distance(&name.to_ascii_lowercase(), &e.to_ascii_lowercase()),
                *e,
            )
        })
        .min();
    match best {
        Some((d, e)) if d <= 3 => {
            format!("unknown field `{name}` (did you mean `{e}`? see berth.json(5)){position}")
        }
        _ => format!("unknown field `{name}` (the fields are listed in berth.json(5)){position}"),
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `Notify`: `false`/`true` (as before podman 5's `healthy`) or one of
/// `"conmon"`, `"container"`, `"healthy"`.
pub(super) fn notify<'de, D: Deserializer<'de>>(d: D) -> Result<Notify, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Notify;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true, false, \"conmon\", \"container\" or \"healthy\"")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Notify, E> {
            Ok(if v { Notify::Container } else { Notify::Conmon })
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Notify, E> {
            match v {
                "conmon" => Ok(Notify::Conmon),
                "container" => Ok(Notify::Container),
                "healthy" => Ok(Notify::Healthy),
                _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
    }
    d.deserialize_any(V)
}

/// Stored files keep `true` for `container`, so definitions written before
/// `healthy` existed read back byte for byte.
pub(super) fn serialize_notify<S: Serializer>(n: &Notify, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Notify::Conmon => s.serialize_bool(false),
        Notify::Container => s.serialize_bool(true),
        Notify::Healthy => s.serialize_str("healthy"),
    }
}

/// Most CPUs `CpuLimit` takes (podman refuses more than the host has at
/// run time; this bounds the stored value).
const MAX_CPUS: u64 = 4096;

/// `CpuLimit`: a positive number of CPUs with at most three decimals, as a
/// JSON number or a string (`1.5`, `"0.25"`).
pub(super) fn cpu_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MilliCpus>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<MilliCpus>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(
                f,
                "a number of CPUs above 0 and at most {MAX_CPUS}, with at most three decimals (e.g. 1.5)"
            )
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            if v == 0 || v > MAX_CPUS {
                return Err(E::invalid_value(Unexpected::Unsigned(v), &self));
            }
            Ok(Some(MilliCpus(v as u32 * 1000)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // Through the decimal text, so 0.1 is exactly 100 thousandths.
            self.visit_str(&v.to_string())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_millicpus(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
        }
    }
    d.deserialize_any(V)
}

/// `1.5` → 1500; `None` for zero, more than [`MAX_CPUS`], more than three
/// decimals or any other shape.
fn parse_millicpus(s: &str) -> Option<MilliCpus> {
    let (whole, frac) = match s.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (s, ""),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 4 || !digits(whole) || !digits(frac) || frac.len() > 3 {
        return None;
    }
    let millis = whole.parse::<u64>().ok()? * 1000 + format!("{frac:0<3}").parse::<u64>().ok()?;
    (millis > 0 && millis <= MAX_CPUS * 1000).then_some(MilliCpus(millis as u32))
}

/// As a JSON number (`1.5`).
pub(super) fn serialize_cpu_limit<S: Serializer>(
    c: &Option<MilliCpus>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_f64(f64::from(c.0) / 1000.0),
        None => s.serialize_none(),
    }
}
