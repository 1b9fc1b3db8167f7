//! Printing replies: tables and messages for humans, JSON with `--json`;
//! failures as one line on stderr (and a JSON object on stdout with
//! `--json`), exit code by failure kind.

use berth_jobs::error::JobError;
use berth_jobs::response::Reply;
use std::process::ExitCode;

/// Prints a success; exit 0. Warnings (what failed after the change was
/// in force) go to stderr, and into `Warnings` with `--json`.
pub fn success(json: bool, reply: &Reply) -> ExitCode {
    for w in &reply.success.warnings {
        eprintln!("berth: warning: {w}");
    }
    if json {
        let mut data = match &reply.success.data {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                let mut m = serde_json::Map::new();
                m.insert("Data".into(), other.clone());
                m
            }
        };
        for (k, v) in &reply.pending {
            data.insert(k.clone(), v.clone());
        }
        if !reply.success.warnings.is_empty() {
            data.insert("Warnings".into(), serde_json::json!(reply.success.warnings));
        }
        data.insert(
            "Result".into(),
            serde_json::to_value(reply.success.kind).expect("kind"),
        );
        println!("{}", serde_json::to_string_pretty(&data).expect("json"));
    } else {
        // A message heads the table when a job gives both (status).
        if let Some(m) = &reply.success.message {
            println!("{m}");
        }
        if let Some(t) = &reply.success.table {
            print!("{}", t.render());
        }
    }
    ExitCode::SUCCESS
}

/// Prints a failure; exit code of its kind.
pub fn failure(json: bool, e: &JobError) -> ExitCode {
    eprintln!("berth: {e}");
    if json {
        println!("{}", serde_json::json!({ "Error": e }));
    }
    ExitCode::from(e.kind.exit_code() as u8)
}
