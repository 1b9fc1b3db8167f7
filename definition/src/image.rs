//! Image reference grammar, after the OCI distribution reference grammar
//! that podman parses (`[domain[:port]/]path[:tag][@algo:hex]`), and a guard
//! that no reference can be read as an option.

use super::FieldError;

/// Checks an image reference.
///
/// Rules (distribution/reference's grammar, simplified where podman is
/// laxer): total length 1–1024; the name is `/`-separated components of
/// `[a-z0-9]` joined by `.`, `_`, `__` or `-` runs, except that the first
/// component may be a registry host (`[A-Za-z0-9.-]` with an optional
/// `:port`); an optional `:tag` of `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; an
/// optional `@algorithm:hex` digest. A reference therefore never starts with
/// `-` and never holds whitespace, quotes, `%` or `$`.
pub fn validate_image_reference(field: &str, image: &str) -> Result<(), FieldError> {
    let bad = |why: &str| {
        FieldError::new(
            field,
            format!(
                "must be an image reference like registry.example/name:tag ({why}; got {image:?})"
            ),
        )
    };
    if image.is_empty() {
        return Err(FieldError::new(
            field,
            "is required: the image reference to run, e.g. localhost/busybox",
        ));
    }
    if image.len() > 1024 {
        return Err(bad("it is longer than 1024 bytes"));
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d
            .split_once(':')
            .ok_or_else(|| bad("a digest is algorithm:hex"))?;
        let algo_ok = !algo.is_empty()
            && algo.as_bytes()[0].is_ascii_lowercase()
            && algo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
        if !algo_ok || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("a digest is algorithm:hex with at least 32 hex digits"));
        }
    }
    // A tag follows the last ':' that comes after the last '/'.
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(c) if last_slash.is_none_or(|s| c > s) => (&rest[..c], Some(&rest[c + 1..])),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.as_bytes()[0] == b'_')
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return Err(bad("a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
        }
    }
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    let components: Vec<&str> = name.split('/').collect();
    for (i, comp) in components.iter().enumerate() {
        let is_domain = i == 0
            && components.len() > 1
            && (comp.contains('.') || comp.contains(':') || *comp == "localhost");
        let ok = if is_domain {
            domain_ok(comp)
        } else {
            path_component_ok(comp)
        };
        if !ok {
            return Err(bad(if is_domain {
                "a registry host is [A-Za-z0-9.-] with an optional :port"
            } else {
                "name components are lowercase letters and digits separated by '.', '_', '__' or '-'"
            }));
        }
    }
    Ok(())
}

fn domain_ok(s: &str) -> bool {
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let host_ok = !host.is_empty()
        && host.as_bytes()[0].is_ascii_alphanumeric()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

fn path_component_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !is_alnum_lower(b[0]) || !is_alnum_lower(b[b.len() - 1]) {
        return false;
    }
    // Separators between alphanumeric runs: '.', '_', '__', or any run of '-'.
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}
