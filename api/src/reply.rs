//! A job's outcome as HTTP, as geard's `httpJobResponse` wrote it: data
//! `200` JSON (or the table for `Accept: text/plain`), no data `204`, a
//! stream `202`; pending values as `X-<Name>` headers; failures with
//! geard's status codes and a `{"Message", "Data"}` JSON body.

use berth_jobs::error::{FailureKind, JobError, ERR_CONTENT_TYPE_DOES_NOT_MATCH};
use berth_jobs::response::Reply;
use bytes::Bytes;

/// A complete, buffered answer; cloned to every request joining the same
/// request id.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The HTTP status.
    pub status: u16,
    /// Extra headers (`Content-Type`, `X-<Name>`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

/// geard's status for a failure kind: AlreadyExists 409, NotFound 404,
/// InvalidRequest 400, NotAcceptable 406, RateLimit 429, else 500.
pub fn failure_status(kind: FailureKind) -> u16 {
    match kind {
        FailureKind::AlreadyExists => 409,
        FailureKind::NotFound => 404,
        FailureKind::InvalidRequest => 400,
        FailureKind::NotAcceptable => 406,
        FailureKind::RateLimit => 429,
        FailureKind::Error => 500,
    }
}

/// A failure answer with `status`: `{"Message": …, "Data": …}` (geard's
/// `httpFailureResponse`; `Data` only when the error has some). The
/// message includes berth's detail.
pub fn failure(status: u16, e: &JobError) -> Rendered {
    let mut body = serde_json::json!({ "Message": e.to_string() });
    if let Some(d) = &e.data {
        body["Data"] = d.clone();
    }
    Rendered {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Bytes::from(format!("{body}\n")),
    }
}

/// A header value for a pending value: a string as it is, anything else
/// as compact JSON (header values cannot hold newlines, and serde_json's
/// compact form has none).
pub fn header_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The answer for a finished, non-streamed job; `table` when the client
/// asked for `text/plain`.
pub fn outcome(out: &Result<Reply, JobError>, table: bool) -> Rendered {
    let reply = match out {
        Ok(r) => r,
        Err(e) => return failure(failure_status(e.kind), e),
    };
    let mut headers: Vec<(String, String)> = reply
        .pending
        .iter()
        .map(|(n, v)| (format!("X-{n}"), header_value(v)))
        .collect();
    for w in &reply.success.warnings {
        headers.push(("X-Warning".into(), w.replace(['\r', '\n'], " ")));
    }
    let s = &reply.success;
    if s.data.is_null() {
        return Rendered {
            status: 204,
            headers,
            body: Bytes::new(),
        };
    }
    if table {
        let Some(t) = &s.table else {
            return failure(406, &ERR_CONTENT_TYPE_DOES_NOT_MATCH.into());
        };
        headers.push(("Content-Type".into(), "text/plain".into()));
        return Rendered {
            status: 200,
            headers,
            body: Bytes::from(t.render()),
        };
    }
    headers.push(("Content-Type".into(), "application/json".into()));
    Rendered {
        status: 200,
        headers,
        body: Bytes::from(format!("{}\n", s.data)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_jobs::error::ERR_CONTAINER_NOT_FOUND;
    use berth_jobs::response::Success;

    #[test]
    fn codes_and_bodies() {
        let r = outcome(&Err(ERR_CONTAINER_NOT_FOUND.into()), false);
        assert_eq!(r.status, 404);
        assert_eq!(
            &r.body[..],
            b"{\"Message\":\"The specified container does not exist.\"}\n"
        );
        let ok = Reply {
            success: Success::ok(),
            pending: vec![("PortMapping".into(), serde_json::json!([{"Internal": 80}]))],
            streamed: false,
        };
        let r = outcome(&Ok(ok.clone()), false);
        assert_eq!(r.status, 204);
        assert_eq!(
            r.headers[0],
            ("X-PortMapping".into(), "[{\"Internal\":80}]".into())
        );
        let mut data = ok;
        data.success.data = serde_json::json!({"A": 1});
        assert_eq!(outcome(&Ok(data.clone()), false).status, 200);
        assert_eq!(outcome(&Ok(data), true).status, 406);
    }
}
