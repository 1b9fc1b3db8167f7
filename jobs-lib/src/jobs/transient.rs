//! Following a transient unit (`berth run`, `berth build`): its output
//! streamed from the journal as it is written, until it has ended.

use crate::context::Context;
use crate::error::{FailureKind, JobError};
use crate::response::{JobResponse, StreamRecord};
use crate::systemd::{JournalEvent, JournalQuery, ServiceOutcome};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// After the unit ended, how long the journal may stay quiet before the
/// output is taken as complete (journald may still be writing the last
/// lines), and the most to wait in all.
const SETTLE: Duration = Duration::from_millis(750);
const SETTLE_MAX: Duration = Duration::from_secs(5);

/// Streams the stdout/stderr lines of transient `unit` (journal entries
/// with `_TRANSPORT=stdout` written by the unit itself, so neither
/// systemd's nor podman's own messages) to `resp` until the unit has
/// ended, and returns how it ended. SIGINT/SIGTERM stop the unit once;
/// its output up to the end is still streamed. A client that went away
/// (broken pipe) stops the unit too.
///
/// Errors: the journal or the unit's state cannot be read.
pub fn attach(
    ctx: &Context,
    unit: &str,
    resp: &mut dyn JobResponse,
) -> Result<ServiceOutcome, JobError> {
    attach_filtered(ctx, unit, resp, &|_| true)
}

/// As [`attach`], streaming only the lines `keep` accepts (the others are
/// still read, so the end of the unit is seen at the same time).
///
/// Errors: as [`attach`].
pub fn attach_filtered(
    ctx: &Context,
    unit: &str,
    resp: &mut dyn JobResponse,
    keep: &dyn Fn(&str) -> bool,
) -> Result<ServiceOutcome, JobError> {
    let fail = |what: &str, e: String| {
        JobError::new(
            FailureKind::Error,
            format!("Unable to follow {unit}: {what}."),
        )
        .detail(e)
    };
    let query = JournalQuery {
        units: vec![unit.to_owned()],
        lines: None,
        since: None,
        until: None,
        follow: true,
    };
    let mut stop_sent = false;
    let mut ended: Option<(Instant, ServiceOutcome)> = None;
    let mut last_entry = Instant::now();
    let mut state_error = None;
    let mut gone = false;
    ctx.systemd
        .read_journal(&query, &mut |ev| {
            if let JournalEvent::Entry(e) = &ev {
                last_entry = Instant::now();
                let own = crate::logfmt::field(e, "_SYSTEMD_UNIT").as_deref() == Some(unit)
                    && crate::logfmt::field(e, "_TRANSPORT").as_deref() == Some("stdout");
                if own && !gone {
                    let line = crate::logfmt::message(e);
                    if keep(&line) && resp.stream_record(StreamRecord::Line(line)).is_err() {
                        gone = true;
                    }
                }
            }
            if (crate::interrupt::requested() || gone) && !stop_sent {
                stop_sent = true;
                if let Err(e) = ctx.systemd.stop_unit(unit) {
                    ctx.info(&format!("warning: stopping {unit}: {e}"));
                }
            }
            if let Some((at, _)) = &ended {
                let now = Instant::now();
                if now.duration_since(last_entry) >= SETTLE || now.duration_since(*at) >= SETTLE_MAX
                {
                    return ControlFlow::Break(());
                }
                return ControlFlow::Continue(());
            }
            if matches!(ev, JournalEvent::Idle) {
                match ctx.systemd.service_outcome(unit) {
                    Ok(o) if o.ended() => ended = Some((Instant::now(), o)),
                    Ok(_) => {}
                    Err(e) => {
                        state_error = Some(e.to_string());
                        return ControlFlow::Break(());
                    }
                }
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| fail("its journal", e.to_string()))?;
    if let Some(e) = state_error {
        return Err(fail("its state", e));
    }
    match ended {
        Some((_, o)) => Ok(o),
        // journalctl ended first (killed by the same SIGINT): ask once more.
        None => ctx
            .systemd
            .service_outcome(unit)
            .map_err(|e| fail("its state", e.to_string())),
    }
}
