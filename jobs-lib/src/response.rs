//! How a job answers (geard's `jobs.JobResponse`, done so that a second
//! answer cannot be written).
//!
//! While it runs, a job sees only `&mut dyn JobResponse`: it may stream
//! output ([`JobResponse::stream`]) and record pending success data
//! ([`JobResponse::write_pending_success`], e.g. the port mapping an install
//! reserved). Its final answer is the value it returns, `Result<Success,
//! JobError>`, which [`crate::jobs::dispatch`] hands to [`Finish::finish`];
//! `finish` takes the response by value, so nothing can answer twice, and
//! pending data reaches the client only with a success.

use crate::error::JobError;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// geard's `JobResponseSuccess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuccessKind {
    /// Done.
    Ok,
    /// Accepted; systemd carries it out (e.g. a start job was queued).
    Accepted,
}

/// A human table: a header and rows of cells.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column names and no rows.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with columns padded to their widest cell, separated by two
    /// spaces, one line per row, header first.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                if i + 1 < r.len() {
                    line.push_str(&format!("{:w$}  ", c, w = widths[i]));
                } else {
                    line.push_str(c);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A successful answer: its kind, structured data (JSON) and, for humans,
/// an optional table and message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Success {
    /// Ok or Accepted.
    pub kind: SuccessKind,
    /// Structured data (`null` when none).
    pub data: serde_json::Value,
    /// The same data as a table, for humans.
    pub table: Option<Table>,
    /// One line for humans when there is no table.
    pub message: Option<String>,
    /// What failed after the job's change was in force (a cleanup to be
    /// retried by the next job, a restart that could not be queued): the
    /// job succeeded, and these say what still needs attention.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Success {
    /// Success without data.
    pub fn ok() -> Success {
        Success {
            kind: SuccessKind::Ok,
            data: serde_json::Value::Null,
            table: None,
            message: None,
            warnings: Vec::new(),
        }
    }

    /// Accepted without data.
    pub fn accepted() -> Success {
        Success {
            kind: SuccessKind::Accepted,
            ..Success::ok()
        }
    }

    /// With structured data.
    pub fn data(mut self, data: serde_json::Value) -> Success {
        self.data = data;
        self
    }

    /// With a table.
    pub fn table(mut self, table: Table) -> Success {
        self.table = Some(table);
        self
    }

    /// With a message.
    pub fn message(mut self, m: impl Into<String>) -> Success {
        self.message = Some(m.into());
        self
    }

    /// With one more warning.
    pub fn warn(mut self, w: impl std::fmt::Display) -> Success {
        self.warnings.push(w.to_string());
        self
    }
}

/// A finished job's answer as a client receives it: the success plus the
/// pending data written while it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The success.
    pub success: Success,
    /// Pending success data by name (e.g. `PortMapping`), in write order.
    pub pending: Vec<(String, serde_json::Value)>,
    /// Whether the job streamed output (then `success.data` is null).
    pub streamed: bool,
}

/// What a running job may do with its response (geard's `JobResponse`
/// minus its final calls, which are the job's return value instead).
pub trait JobResponse {
    /// Whether the client wants streamed output (geard's `StreamResult`).
    fn stream_result(&self) -> bool;
    /// Records data to send only if the job succeeds (geard's
    /// `WritePendingSuccess`); a later value with the same name replaces it.
    fn write_pending_success(&mut self, name: &str, value: serde_json::Value);
    /// The writer for streamed output (geard's `SuccessWithWrite`). Writing
    /// commits the response to success: a later failure is reported after
    /// what was already written.
    fn stream(&mut self) -> &mut dyn Write;
}

/// Ends a response, once: `finish` consumes it.
pub trait Finish {
    /// What the caller gets back.
    type Output;
    /// Delivers the job's outcome. Pending data is kept on success and
    /// dropped on failure.
    fn finish(self, outcome: Result<Success, JobError>) -> Self::Output;
}

/// The standard response: streams into `W` and collects the rest.
pub struct Response<W: Write> {
    out: W,
    stream_result: bool,
    pending: Vec<(String, serde_json::Value)>,
    streamed: bool,
}

impl<W: Write> Response<W> {
    /// A response streaming into `out`.
    pub fn new(out: W, stream_result: bool) -> Response<W> {
        Response {
            out,
            stream_result,
            pending: Vec::new(),
            streamed: false,
        }
    }
}

impl<W: Write> JobResponse for Response<W> {
    fn stream_result(&self) -> bool {
        self.stream_result
    }

    fn write_pending_success(&mut self, name: &str, value: serde_json::Value) {
        match self.pending.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.pending.push((name.to_owned(), value)),
        }
    }

    fn stream(&mut self) -> &mut dyn Write {
        self.streamed = true;
        &mut self.out
    }
}

impl<W: Write> Finish for Response<W> {
    type Output = Result<Reply, JobError>;

    fn finish(mut self, outcome: Result<Success, JobError>) -> Self::Output {
        let _ = self.out.flush();
        outcome.map(|success| Reply {
            success,
            pending: std::mem::take(&mut self.pending),
            streamed: self.streamed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ERR_CONTAINER_CREATE_FAILED;

    #[test]
    fn pending_data_only_on_success() {
        let mut r = Response::new(Vec::new(), false);
        r.write_pending_success("PortMapping", serde_json::json!([1]));
        r.write_pending_success("PortMapping", serde_json::json!([2]));
        let reply = r.finish(Ok(Success::ok())).unwrap();
        assert_eq!(
            reply.pending,
            vec![("PortMapping".to_string(), serde_json::json!([2]))]
        );

        let mut r = Response::new(Vec::new(), false);
        r.write_pending_success("PortMapping", serde_json::json!([1]));
        let e = r
            .finish(Err(ERR_CONTAINER_CREATE_FAILED.into()))
            .unwrap_err();
        assert!(e.is(ERR_CONTAINER_CREATE_FAILED));
    }

    #[test]
    fn stream_marks_reply() {
        let mut buf = Vec::new();
        let mut r = Response::new(&mut buf, true);
        writeln!(r.stream(), "line").unwrap();
        let reply = r.finish(Ok(Success::ok())).unwrap();
        assert!(reply.streamed);
        assert_eq!(buf, b"line\n");
    }

    #[test]
    fn table_renders_aligned() {
        let mut t = Table::new(&["ID", "PORTS"]);
        t.row(vec!["web1".into(), "80".into()]);
        t.row(vec!["a".into(), "".into()]);
        assert_eq!(t.render(), "ID    PORTS\nweb1  80\na\n");
    }
}
