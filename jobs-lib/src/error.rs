//! Job failures: geard's failure kinds (`jobs.JobResponseFailure`) and its
//! named errors with geard's messages (`containers/jobs/errors.go`,
//! `jobs/errors.go`, `http/response.go`), plus a detail that says what
//! exactly went wrong (geard logged the cause and dropped it; berth returns
//! it) and optional structured data.

use serde::Serialize;
use std::fmt;

/// The kind of a failure (geard's `JobResponseFailure`). Each maps to one
/// exit code of the `berth` CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum FailureKind {
    /// Something failed on the host (exit code 1).
    Error,
    /// The request is malformed or breaks a rule (exit code 2).
    InvalidRequest,
    /// The container (or what was asked for) does not exist (exit code 3).
    NotFound,
    /// It exists already (exit code 4).
    AlreadyExists,
    /// Too soon, or the unit is changing state (exit code 5).
    RateLimit,
    /// The requested content type is not available (exit code 6).
    NotAcceptable,
}

impl FailureKind {
    /// The `berth` exit code of this kind: Error 1, InvalidRequest 2,
    /// NotFound 3, AlreadyExists 4, RateLimit 5, NotAcceptable 6.
    pub fn exit_code(self) -> i32 {
        match self {
            FailureKind::Error => 1,
            FailureKind::InvalidRequest => 2,
            FailureKind::NotFound => 3,
            FailureKind::AlreadyExists => 4,
            FailureKind::RateLimit => 5,
            FailureKind::NotAcceptable => 6,
        }
    }
}

/// A named error: a kind and geard's fixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimpleJobError {
    /// The failure kind.
    pub kind: FailureKind,
    /// geard's message.
    pub message: &'static str,
}

macro_rules! named {
    ($($(#[$m:meta])* $name:ident = $kind:ident, $msg:literal;)*) => {
        $( $(#[$m])* pub const $name: SimpleJobError = SimpleJobError { kind: FailureKind::$kind, message: $msg }; )*
    };
}

named! {
    /// geard `ErrContainerNotFound`.
    ERR_CONTAINER_NOT_FOUND = NotFound, "The specified container does not exist.";
    /// geard `ErrContainerAlreadyExists`.
    ERR_CONTAINER_ALREADY_EXISTS = AlreadyExists, "A container with this identifier already exists.";
    /// geard `ErrContainerCreateFailed`.
    ERR_CONTAINER_CREATE_FAILED = Error, "Unable to create container.";
    /// geard `ErrContainerCreateFailedPortsReserved`.
    ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED = Error, "Unable to create container: some ports could not be reserved.";
    /// geard `ErrContainerStartFailed`.
    ERR_CONTAINER_START_FAILED = Error, "Unable to start this container.";
    /// geard `ErrContainerStopFailed`.
    ERR_CONTAINER_STOP_FAILED = Error, "Unable to stop this container.";
    /// geard `ErrContainerRestartFailed`.
    ERR_CONTAINER_RESTART_FAILED = Error, "Unable to restart this container.";
    /// geard `ErrEnvironmentNotFound`.
    ERR_ENVIRONMENT_NOT_FOUND = NotFound, "Unable to find the requested environment.";
    /// geard `ErrEnvironmentUpdateFailed`.
    ERR_ENVIRONMENT_UPDATE_FAILED = Error, "Unable to update the specified environment.";
    /// geard `ErrListImagesFailed` (geard named its engine; berth's is podman).
    ERR_LIST_IMAGES_FAILED = Error, "Unable to list podman images.";
    /// geard `ErrListContainersFailed`.
    ERR_LIST_CONTAINERS_FAILED = Error, "Unable to list the installed containers.";
    /// geard `ErrStartRequestThrottled`.
    ERR_START_REQUEST_THROTTLED = RateLimit, "It has been too soon since the last request to start.";
    /// geard `ErrStopRequestThrottled`.
    ERR_STOP_REQUEST_THROTTLED = RateLimit, "It has been too soon since the last request to stop.";
    /// geard `ErrRestartRequestThrottled`.
    ERR_RESTART_REQUEST_THROTTLED = RateLimit, "It has been too soon since the last request to restart or the state is currently changing.";
    /// geard `ErrLinkContainersFailed`.
    ERR_LINK_CONTAINERS_FAILED = Error, "Not all links could be set.";
    /// geard `ErrDeleteContainerFailed`.
    ERR_DELETE_CONTAINER_FAILED = Error, "Unable to delete the container.";
    /// geard `ErrContentTypeDoesNotMatch`.
    ERR_CONTENT_TYPE_DOES_NOT_MATCH = NotAcceptable, "The content type you requested is not available for this action.";
    /// berth: the id is masked (its file in force links to `/dev/null`),
    /// so no job changes it; the detail names the mask.
    ERR_CONTAINER_MASKED = InvalidRequest, "The container is masked.";
    /// geard `ErrRanToCompletion`.
    ERR_RAN_TO_COMPLETION = Error, "This job has run to completion.";
}

/// A job failure: kind, message, an optional detail (the cause, naming the
/// id, port, file or command) and optional structured data (e.g. the
/// conflicting reservations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobError {
    /// The failure kind.
    pub kind: FailureKind,
    /// The message (geard's, for the named errors).
    pub message: String,
    /// What exactly went wrong.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// Structured data for clients.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data: Option<serde_json::Value>,
}

impl JobError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> JobError {
        JobError {
            kind,
            message: message.into(),
            detail: None,
            data: None,
        }
    }

    /// An `InvalidRequest` failure with `message`.
    pub fn invalid(message: impl Into<String>) -> JobError {
        JobError::new(FailureKind::InvalidRequest, message)
    }

    /// Adds the cause.
    pub fn detail(mut self, detail: impl fmt::Display) -> JobError {
        self.detail = Some(detail.to_string());
        self
    }

    /// Adds structured data.
    pub fn with_data(mut self, data: serde_json::Value) -> JobError {
        self.data = Some(data);
        self
    }

    /// Whether this is the named error `e` (same kind and message).
    pub fn is(&self, e: SimpleJobError) -> bool {
        self.kind == e.kind && self.message == e.message
    }
}

impl From<SimpleJobError> for JobError {
    fn from(e: SimpleJobError) -> JobError {
        JobError::new(e.kind, e.message)
    }
}

impl SimpleJobError {
    /// This error with a cause attached.
    pub fn detail(self, detail: impl fmt::Display) -> JobError {
        JobError::from(self).detail(detail)
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{} {}", self.message, d),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for JobError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_errors_keep_geards_messages() {
        let e: JobError = ERR_CONTAINER_NOT_FOUND.into();
        assert_eq!(e.to_string(), "The specified container does not exist.");
        assert_eq!(e.kind.exit_code(), 3);
        let e = ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED.detail("port 80 is reserved by web");
        assert_eq!(
            e.to_string(),
            "Unable to create container: some ports could not be reserved. port 80 is reserved by web"
        );
        assert!(e.is(ERR_CONTAINER_CREATE_FAILED_PORTS_RESERVED));
        assert!(!e.is(ERR_CONTAINER_CREATE_FAILED));
        assert_eq!(ERR_RESTART_REQUEST_THROTTLED.kind, FailureKind::RateLimit);
    }

    #[test]
    fn exit_codes_are_distinct() {
        let kinds = [
            FailureKind::Error,
            FailureKind::InvalidRequest,
            FailureKind::NotFound,
            FailureKind::AlreadyExists,
            FailureKind::RateLimit,
            FailureKind::NotAcceptable,
        ];
        let mut codes: Vec<i32> = kinds.iter().map(|k| k.exit_code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len());
        assert!(!codes.contains(&0));
    }
}
