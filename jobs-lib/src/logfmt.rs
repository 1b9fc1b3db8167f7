//! Journal entries (journalctl's `--output=json` objects) as berth prints
//! them: `short` lines and a small JSON object of the fields that matter.

use serde_json::{Map, Value};

/// A field as text: journalctl gives a string, or an array of bytes for a
/// value that is not UTF-8 (or an array of those for a repeated field).
pub fn field(entry: &Map<String, Value>, name: &str) -> Option<String> {
    match entry.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) if a.iter().all(Value::is_number) => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(a) => a.first().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        _ => None,
    }
}

/// The message without its trailing newline.
pub fn message(entry: &Map<String, Value>) -> String {
    field(entry, "MESSAGE")
        .unwrap_or_default()
        .trim_end_matches('\n')
        .to_owned()
}

/// `__REALTIME_TIMESTAMP` (µs since the epoch) as UTC ISO 8601 with
/// microseconds (`2026-12-01T11:52:21.123456Z`); empty when absent.
pub fn time(entry: &Map<String, Value>) -> String {
    field(entry, "__REALTIME_TIMESTAMP")
        .and_then(|t| t.parse::<u64>().ok())
        .map(iso_utc)
        .unwrap_or_default()
}

/// µs since the epoch as UTC ISO 8601 (civil-from-days, H. Hinnant).
pub fn iso_utc(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        micros % 1_000_000
    )
}

/// The unit an entry belongs to: the unit that wrote it, or the one
/// systemd's message is about (`UNIT`, written by PID 1).
pub fn unit(entry: &Map<String, Value>) -> String {
    field(entry, "UNIT")
        .or_else(|| field(entry, "_SYSTEMD_UNIT"))
        .unwrap_or_default()
}

/// `TIME IDENTIFIER[PID]: MESSAGE`, as journalctl's `short-iso`.
pub fn short(entry: &Map<String, Value>) -> String {
    let ident = field(entry, "SYSLOG_IDENTIFIER")
        .or_else(|| field(entry, "_COMM"))
        .unwrap_or_else(|| "?".into());
    let pid = field(entry, "SYSLOG_PID").or_else(|| field(entry, "_PID"));
    let pid = pid.map(|p| format!("[{p}]")).unwrap_or_default();
    format!("{} {ident}{pid}: {}", time(entry), message(entry))
}

/// The entry as berth's JSON record: `Time`, `Unit`, `Identifier`, `Pid`,
/// `Priority` (syslog number), `Message`.
pub fn to_json(entry: &Map<String, Value>) -> Value {
    serde_json::json!({
        "Time": time(entry),
        "Unit": unit(entry),
        "Identifier": field(entry, "SYSLOG_IDENTIFIER").or_else(|| field(entry, "_COMM")),
        "Pid": field(entry, "_PID").and_then(|p| p.parse::<u64>().ok()),
        "Priority": field(entry, "PRIORITY").and_then(|p| p.parse::<u8>().ok()),
        "Message": message(entry),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn times_are_utc_iso() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso_utc(951_782_400_000_001), "2000-02-29T00:00:00.000001Z");
        assert_eq!(
            iso_utc(1_796_125_941_500_000),
            "2026-12-01T11:52:21.500000Z"
        );
    }

    #[test]
    fn short_and_json_lines() {
        let e = entry(serde_json::json!({
            "__REALTIME_TIMESTAMP": "0", "SYSLOG_IDENTIFIER": "podman", "_PID": "42",
            "_SYSTEMD_UNIT": "berth-web.service", "PRIORITY": "6", "MESSAGE": "hi\n"
        }));
        assert_eq!(short(&e), "1970-01-01T00:00:00.000000Z podman[42]: hi");
        let j = to_json(&e);
        assert_eq!(j["Unit"], "berth-web.service");
        assert_eq!(j["Pid"], 42);
        assert_eq!(j["Message"], "hi");
    }

    #[test]
    fn binary_messages_are_bytes() {
        let e = entry(serde_json::json!({"MESSAGE": [104, 105, 255]}));
        assert_eq!(message(&e), "hi\u{fffd}");
    }
}
