//! Connections, requests and jobs: one HTTP/1.1 connection per accepted
//! client, authorised by its peer credentials; each request becomes one
//! job of berth-jobs on a blocking thread.
//!
//! Join: a mutating request with an `X-Request-Id` that is already running
//! waits for that run and gets its outcome; a finished one is answered
//! from the request journal by [`berth_jobs::jobs::dispatch`]. Capacity is
//! checked before an id is recorded as running, so a request refused with
//! 429 leaves nothing behind.

use crate::peer::{self, Peer};
use crate::reply::{self, Rendered};
use crate::routes;
use berth_jobs::context::Context;
use berth_jobs::error::{FailureKind, JobError};
use berth_jobs::jobs::{dispatch, Job};
use berth_jobs::request_id::RequestIdentifier;
use berth_jobs::response::{final_record, Finish, JobResponse, Reply, StreamRecord, Success};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify, Semaphore};

/// The largest request head hyper buffers (its minimum is 8 KiB); a
/// larger head is answered `431`.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Records buffered between a streaming job and its client; beyond it the
/// job blocks (backpressure).
const STREAM_DEPTH: usize = 16;

/// The bounds of the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Jobs running at once (short jobs); beyond it 429.
    pub max_jobs: usize,
    /// Streaming jobs at once (logs, attached runs); counted apart, so a
    /// follow never holds back a short job.
    pub max_streams: usize,
    /// The largest request body in bytes; beyond it 413.
    pub max_body: usize,
    /// Time for a client to send a request head, and again its body.
    pub request_timeout: Duration,
    /// Exit after this long with no connection and no job (None: never).
    pub exit_idle: Option<Duration>,
}

/// The outcome of a finished job, shared by every request joining it.
type Outcome = Arc<Result<Reply, JobError>>;

struct Running {
    digest: String,
    done: watch::Receiver<Option<Outcome>>,
}

/// What every connection shares.
pub struct State {
    limits: Limits,
    jobs: Arc<Semaphore>,
    streams: Arc<Semaphore>,
    running: Mutex<HashMap<RequestIdentifier, Running>>,
    active: AtomicUsize,
    quiet: Notify,
    group: Option<u32>,
}

impl State {
    /// A fresh state; `group` is the socket's group (see [`peer`]).
    pub fn new(limits: Limits, group: Option<u32>) -> Arc<State> {
        Arc::new(State {
            jobs: Arc::new(Semaphore::new(limits.max_jobs)),
            streams: Arc::new(Semaphore::new(limits.max_streams)),
            limits,
            running: Mutex::new(HashMap::new()),
            active: AtomicUsize::new(0),
            quiet: Notify::new(),
            group,
        })
    }
}

/// Counts a connection or job as activity while alive (idle exit waits
/// for none).
struct Active(Arc<State>);

impl Active {
    fn new(s: &Arc<State>) -> Active {
        s.active.fetch_add(1, Ordering::SeqCst);
        Active(s.clone())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.quiet.notify_one();
        }
    }
}

/// Accepts connections until the idle time passes with no connection and
/// no job running, then returns.
pub async fn serve(listener: tokio::net::UnixListener, state: Arc<State>) {
    loop {
        let idle = state.active.load(Ordering::SeqCst) == 0;
        let wait = async {
            match state.limits.exit_idle {
                Some(d) if idle => tokio::time::sleep(d).await,
                _ => state.quiet.notified().await,
            }
        };
        tokio::select! {
            acc = listener.accept() => match acc {
                Ok((stream, _)) => {
                    let active = Active::new(&state);
                    tokio::spawn(connection(stream, state.clone(), active));
                }
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    eprintln!("berth-api: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = wait => {
                if idle && state.active.load(Ordering::SeqCst) == 0 {
                    return;
                }
            }
        }
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn connection(stream: tokio::net::UnixStream, state: Arc<State>, _active: Active) {
    let (peer, refusal) = match stream.peer_cred() {
        Ok(c) => {
            let p = Peer {
                pid: c.pid().unwrap_or(0),
                uid: c.uid(),
                gid: c.gid(),
            };
            (Some(p), peer::refusal(&p, state.group))
        }
        Err(e) => (None, Some(format!("no peer credentials: {e}"))),
    };
    if let Some(why) = &refusal {
        match peer {
            Some(p) => eprintln!(
                "berth-api: refused uid {} gid {} pid {}: {why}",
                p.uid, p.gid, p.pid
            ),
            None => eprintln!("berth-api: refused a connection: {why}"),
        }
    }
    let st = state.clone();
    let svc = hyper::service::service_fn(move |req| {
        let st = st.clone();
        let refusal = refusal.clone();
        async move { Ok::<_, Infallible>(handle(req, st, refusal).await) }
    });
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(state.limits.request_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    // A client that went away or sent garbage: hyper has answered what
    // can be answered; nothing to log per connection.
    let _ = b.serve_connection(TokioIo::new(stream), svc).await;
}

fn respond(r: Rendered) -> Response<Body> {
    let mut resp = Response::new(Full::new(r.body).boxed());
    *resp.status_mut() = hyper::StatusCode::from_u16(r.status).expect("status in range");
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::try_from(k),
            hyper::header::HeaderValue::try_from(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
    resp
}

fn fail(status: u16, e: JobError) -> Response<Body> {
    respond(reply::failure(status, &e))
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    refusal: Option<String>,
) -> Response<Body> {
    if let Some(why) = refusal {
        let mut r = fail(
            403,
            JobError::new(FailureKind::Error, "Forbidden.").detail(format!(
                "berth-api serves root and members of the socket's group; this peer is {why}"
            )),
        );
        r.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
        return r;
    }
    let h = req.headers();
    // geard's API version precondition: `If-Match: api=1`.
    if let Some(m) = h.get(hyper::header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        if let Some(v) = m.split(',').find_map(|s| s.trim().strip_prefix("api=")) {
            if v != "1" {
                return fail(
                    412,
                    JobError::invalid(format!(
                        "Current API version 1 does not match requested {v}"
                    )),
                );
            }
        }
    }
    let rid = match h.get("x-request-id") {
        None => None,
        Some(v) => match v.to_str().ok().map(str::parse::<RequestIdentifier>) {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => return fail(400, JobError::invalid(format!("X-Request-Id: {e}"))),
            None => {
                return fail(
                    400,
                    JobError::invalid("X-Request-Id: not visible ASCII".to_string()),
                )
            }
        },
    };
    let accept = h
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let table = accept.trim_start().starts_with("text/plain");
    let (parts, body) = req.into_parts();
    let limit = state.limits.max_body;
    let body = match tokio::time::timeout(
        state.limits.request_timeout,
        Limited::new(body, limit).collect(),
    )
    .await
    {
        Err(_) => {
            return fail(
                408,
                JobError::invalid(format!(
                    "The request body did not arrive within {} s.",
                    state.limits.request_timeout.as_secs_f64()
                )),
            )
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return fail(
                413,
                JobError::invalid(format!("The request body is larger than {limit} bytes.")),
            )
        }
        Ok(Err(e)) => return fail(400, JobError::invalid(format!("Reading the body: {e}"))),
        Ok(Ok(c)) => c.to_bytes(),
    };
    let job = match routes::route(
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &body,
    ) {
        Ok(j) => j,
        Err(r) => return fail(r.status, r.error),
    };
    if job.streams() {
        streamed(job, rid, !table, state).await
    } else {
        let out = buffered(job, rid, state).await;
        let mut r = respond(reply::outcome(&out, table));
        if matches!(&*out, Err(e) if e.kind == FailureKind::RateLimit) {
            r.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
        }
        r
    }
}

fn busy(what: &str, n: usize) -> Outcome {
    Arc::new(Err(JobError::new(
        FailureKind::RateLimit,
        format!("Too many {what} are running (at most {n}); retry later."),
    )))
}

fn context() -> Result<Context, JobError> {
    Context::from_env(None)
        .map_err(|e| JobError::new(FailureKind::Error, "Unable to set up the job.").detail(e))
}

/// Runs a short job on a blocking thread.
fn run_buffered(job: &dyn Job, rid: Option<RequestIdentifier>) -> Result<Reply, JobError> {
    let ctx = context()?;
    dispatch(
        &ctx,
        job,
        rid,
        berth_jobs::response::Response::new(std::io::sink(), false),
    )
}

async fn on_blocking<F>(f: F) -> Outcome
where
    F: FnOnce() -> Result<Reply, JobError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(out) => Arc::new(out),
        Err(e) => Arc::new(Err(JobError::new(
            FailureKind::Error,
            "The job ended abnormally.",
        )
        .detail(e))),
    }
}

async fn buffered(
    job: Box<dyn Job + Send>,
    rid: Option<RequestIdentifier>,
    state: Arc<State>,
) -> Outcome {
    let Some(r) = rid.filter(|_| job.mutates()) else {
        let Ok(permit) = state.jobs.clone().try_acquire_owned() else {
            return busy("jobs", state.limits.max_jobs);
        };
        let active = Active::new(&state);
        return on_blocking(move || {
            let _held = (permit, active);
            run_buffered(job.as_ref(), rid)
        })
        .await;
    };
    let digest = berth_jobs::digest::sha256_hex(job.canonical_request().to_string().as_bytes());
    let mut done = {
        let mut running = state.running.lock().expect("not poisoned");
        match running.get(&r) {
            Some(run) if run.digest != digest => {
                return Arc::new(Err(JobError::invalid(format!(
                    "Request {r} is running with another body; a request id names one request."
                ))))
            }
            Some(run) => run.done.clone(),
            None => {
                let Ok(permit) = state.jobs.clone().try_acquire_owned() else {
                    return busy("jobs", state.limits.max_jobs);
                };
                let (tx, rx) = watch::channel(None);
                running.insert(
                    r,
                    Running {
                        digest,
                        done: rx.clone(),
                    },
                );
                // The run belongs to no one connection: it finishes, and
                // answers its joiners, even when the first client leaves.
                let st = state.clone();
                let active = Active::new(&state);
                tokio::spawn(async move {
                    let out = on_blocking(move || {
                        let _held = permit;
                        run_buffered(job.as_ref(), Some(r))
                    })
                    .await;
                    // dispatch journaled a success before returning, so a
                    // later request finds it there.
                    st.running.lock().expect("not poisoned").remove(&r);
                    let _ = tx.send(Some(out));
                    drop(active);
                });
                rx
            }
        }
    };
    let res = done.wait_for(Option::is_some).await;
    match res {
        Ok(v) => v.clone().expect("waited for Some"),
        Err(_) => Arc::new(Err(JobError::new(
            FailureKind::Error,
            "The job ended without an answer.",
        ))),
    }
}

enum Event {
    Chunk(Bytes),
    Done(Result<Reply, JobError>),
}

/// A streaming job's response: each record goes through a bounded channel
/// to the HTTP body, so a slow client slows the job.
struct HttpStream {
    tx: mpsc::Sender<Event>,
    json: bool,
    pending: Vec<(String, serde_json::Value)>,
    raw: ChanWriter,
}

struct ChanWriter(mpsc::Sender<Event>);

impl std::io::Write for ChanWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Event::Chunk(Bytes::copy_from_slice(b)))
            .map_err(|_| std::io::ErrorKind::BrokenPipe)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl JobResponse for HttpStream {
    fn stream_result(&self) -> bool {
        true
    }
    fn write_pending_success(&mut self, name: &str, value: serde_json::Value) {
        match self.pending.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.pending.push((name.to_owned(), value)),
        }
    }
    fn stream(&mut self) -> &mut dyn std::io::Write {
        &mut self.raw
    }
    fn stream_record(&mut self, record: StreamRecord) -> std::io::Result<()> {
        let line = match (self.json, record) {
            (_, StreamRecord::Object(v)) => v.to_string(),
            (true, StreamRecord::Line(l)) => serde_json::json!({ "Line": l }).to_string(),
            (false, StreamRecord::Line(l)) => l,
        };
        self.tx
            .blocking_send(Event::Chunk(Bytes::from(line + "\n")))
            .map_err(|_| std::io::ErrorKind::BrokenPipe.into())
    }
}

impl Finish for HttpStream {
    type Output = ();
    fn finish(self, outcome: Result<Success, JobError>) {
        let out = outcome.map(|success| Reply {
            success,
            pending: self.pending,
            streamed: true,
        });
        let _ = self.tx.blocking_send(Event::Done(out));
    }
}

/// The body of a stream: the records as they come, then (JSON) the one
/// final record.
struct StreamBody {
    first: Option<Bytes>,
    rx: mpsc::Receiver<Event>,
    json: bool,
    done: bool,
}

impl hyper::body::Body for StreamBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Event::Chunk(b))) => Poll::Ready(Some(Ok(Frame::data(b)))),
            Poll::Ready(Some(Event::Done(out))) => {
                self.done = true;
                if self.json {
                    let rec = format!("{}\n", final_record(&out));
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(rec)))))
                } else {
                    Poll::Ready(None)
                }
            }
        }
    }
}

fn stream_head(json: bool, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = hyper::StatusCode::ACCEPTED;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(if json {
            "application/json"
        } else {
            "text/plain"
        }),
    );
    r
}

/// Runs a streaming job: `202` once its first record is there; a failure
/// before any record gets its own status and body, as a short job's.
async fn streamed(
    job: Box<dyn Job + Send>,
    rid: Option<RequestIdentifier>,
    json: bool,
    state: Arc<State>,
) -> Response<Body> {
    let Ok(permit) = state.streams.clone().try_acquire_owned() else {
        let out = busy("streams", state.limits.max_streams);
        return respond(reply::outcome(&out, false));
    };
    let (tx, mut rx) = mpsc::channel(STREAM_DEPTH);
    let active = Active::new(&state);
    tokio::task::spawn_blocking(move || {
        let _held = (permit, active);
        let ctx = match context() {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.blocking_send(Event::Done(Err(e)));
                return;
            }
        };
        let resp = HttpStream {
            tx: tx.clone(),
            json,
            pending: Vec::new(),
            raw: ChanWriter(tx),
        };
        dispatch(&ctx, job.as_ref(), rid, resp);
    });
    match rx.recv().await {
        None => respond(reply::outcome(
            &Err(JobError::new(
                FailureKind::Error,
                "The job ended without an answer.",
            )),
            false,
        )),
        Some(Event::Done(Err(e))) => respond(reply::outcome(&Err(e), false)),
        Some(Event::Done(Ok(reply))) => {
            let body = if json {
                Bytes::from(format!("{}\n", final_record(&Ok(reply))))
            } else {
                Bytes::new()
            };
            stream_head(json, Full::new(body).boxed())
        }
        Some(Event::Chunk(first)) => stream_head(
            json,
            StreamBody {
                first: Some(first),
                rx,
                json,
                done: false,
            }
            .boxed(),
        ),
    }
}
