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
    /// Sends one record (a line of text or a JSON object; geard's
    /// `SuccessWithWrite` with `structured`) and flushes it, so the client
    /// sees it as it is produced. Backpressure: the call blocks while the
    /// client's pipe is full, so a slow reader slows the job, and nothing
    /// is buffered without bound.
    ///
    /// Errors: the client went away (a broken pipe); the job should stop.
    fn stream_record(&mut self, record: StreamRecord) -> std::io::Result<()> {
        let w = self.stream();
        match record {
            StreamRecord::Line(l) => writeln!(w, "{l}")?,
            StreamRecord::Object(v) => writeln!(w, "{v}")?,
        }
        w.flush()
    }
}

/// One streamed record.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamRecord {
    /// A line of text, without its newline.
    Line(String),
    /// A JSON object.
    Object(serde_json::Value),
}

/// How a [`Response`] writes its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Text: lines as they are, objects as compact JSON, one a line; the
    /// caller prints the final answer itself.
    Text,
    /// JSON lines: every record is one JSON object on a line (a text line
    /// as `{"Line": …}`), and [`Finish::finish`] writes the final record,
    /// exactly one: `{"Result": "Ok"|"Accepted", …data, …pending}` on
    /// success (pending data only then), `{"Error": {…}}` on failure, also
    /// after records were streamed.
    JsonLines,
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
    format: StreamFormat,
}

impl<W: Write> Response<W> {
    /// A response streaming into `out`.
    pub fn new(out: W, stream_result: bool) -> Response<W> {
        Response {
            out,
            stream_result,
            pending: Vec::new(),
            streamed: false,
            format: StreamFormat::Text,
        }
    }

    /// A streaming response writing JSON lines into `out`, the final
    /// record included (see [`StreamFormat::JsonLines`]).
    pub fn json_lines(out: W) -> Response<W> {
        Response {
            format: StreamFormat::JsonLines,
            ..Response::new(out, true)
        }
    }
}

/// The final record of a JSON-lines stream for `outcome`: the success's
/// data object with the pending data and `Result` (and `Warnings`), or
/// `{"Error": …}`.
pub fn final_record(outcome: &Result<Reply, JobError>) -> serde_json::Value {
    match outcome {
        Ok(reply) => serde_json::Value::Object(reply_object(reply)),
        Err(e) => serde_json::json!({ "Error": e }),
    }
}

/// A success as one JSON object, the shape of every `--json` reply: the
/// data's fields (a non-object under `Data`), the pending data, `Warnings`
/// when there are any, and `Result`.
pub fn reply_object(reply: &Reply) -> serde_json::Map<String, serde_json::Value> {
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
    data
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

    fn stream_record(&mut self, record: StreamRecord) -> std::io::Result<()> {
        self.streamed = true;
        match (self.format, record) {
            (StreamFormat::Text, StreamRecord::Line(l)) => writeln!(self.out, "{l}")?,
            (_, StreamRecord::Object(v)) => writeln!(self.out, "{v}")?,
            (StreamFormat::JsonLines, StreamRecord::Line(l)) => {
                writeln!(self.out, "{}", serde_json::json!({ "Line": l }))?
            }
        }
        self.out.flush()
    }
}

impl<W: Write> Finish for Response<W> {
    type Output = Result<Reply, JobError>;

    fn finish(mut self, outcome: Result<Success, JobError>) -> Self::Output {
        let out = outcome.map(|success| Reply {
            success,
            pending: std::mem::take(&mut self.pending),
            streamed: self.streamed,
        });
        if self.format == StreamFormat::JsonLines {
            // The one final record; a client that went away gets nothing.
            let _ = writeln!(self.out, "{}", final_record(&out));
        }
        let _ = self.out.flush();
        out
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
    fn json_lines_stream_then_failure_is_one_final_record_without_pending() {
        let mut buf = Vec::new();
        let mut r = Response::json_lines(&mut buf);
        r.write_pending_success("PortMapping", serde_json::json!([1]));
        r.stream_record(StreamRecord::Line("hi".into())).unwrap();
        r.stream_record(StreamRecord::Object(serde_json::json!({"A": 1})))
            .unwrap();
        let e = r
            .finish(Err(ERR_CONTAINER_CREATE_FAILED.into()))
            .unwrap_err();
        assert!(e.is(ERR_CONTAINER_CREATE_FAILED));
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], serde_json::json!({"Line": "hi"}));
        assert_eq!(lines[1], serde_json::json!({"A": 1}));
        assert!(lines[2]["Error"]["Message"].is_string(), "{text}");
        assert!(!text.contains("PortMapping"), "{text}");
    }

    #[test]
    fn json_lines_success_carries_pending_data_once() {
        let mut buf = Vec::new();
        let mut r = Response::json_lines(&mut buf);
        r.write_pending_success("PortMapping", serde_json::json!([2]));
        r.stream_record(StreamRecord::Line("x".into())).unwrap();
        let reply = r
            .finish(Ok(Success::ok().data(serde_json::json!({"Id": "a"}))))
            .unwrap();
        assert!(reply.streamed);
        let text = String::from_utf8(buf).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(
            last,
            serde_json::json!({"Id": "a", "PortMapping": [2], "Result": "Ok"})
        );
        assert_eq!(text.lines().filter(|l| l.contains("Result")).count(), 1);
    }

    /// A writer that takes at most `cap` records before its reader has
    /// consumed them: the job blocks (backpressure), it does not buffer.
    #[test]
    fn a_slow_reader_holds_the_job_back() {
        use std::sync::mpsc::sync_channel;
        struct Chan(std::sync::mpsc::SyncSender<Vec<u8>>);
        impl Write for Chan {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0
                    .send(b.to_vec())
                    .map_err(|_| std::io::ErrorKind::BrokenPipe)?;
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (tx, rx) = sync_channel(1);
        let produced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = produced.clone();
        let job = std::thread::spawn(move || {
            let mut r = Response::new(Chan(tx), true);
            for i in 0..5 {
                r.stream_record(StreamRecord::Line(i.to_string())).unwrap();
                p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        // One record is in the channel and the job blocks on the next.
        assert!(produced.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        let got: Vec<Vec<u8>> = rx.iter().collect();
        job.join().unwrap();
        assert_eq!(got.concat(), b"0\n1\n2\n3\n4\n");
    }

    #[test]
    fn table_renders_aligned() {
        let mut t = Table::new(&["ID", "PORTS"]);
        t.row(vec!["web1".into(), "80".into()]);
        t.row(vec!["a".into(), "".into()]);
        assert_eq!(t.render(), "ID    PORTS\nweb1  80\na\n");
    }
}
