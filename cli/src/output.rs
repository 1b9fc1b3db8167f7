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
        let data = berth_jobs::response::reply_object(reply);
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
