//! Errors of the definition model: every one names the file (when there is
//! one), the field and the rule that was broken.

use std::fmt;
use std::path::PathBuf;

/// One broken rule inside a definition.
///
/// `field` is a JSON path in the definition's own casing (`Ports[1].Internal`,
/// `Environment.Variables[0].Name`, or `.` for the whole document); `rule` is a
/// sentence saying what the value must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `Ports[0].External`.
    pub field: String,
    /// The rule, phrased as what the value must be (and what it was).
    pub rule: String,
}

impl FieldError {
    /// Builds an error for `field` breaking `rule`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {}: {}", self.field, self.rule)
    }
}

impl std::error::Error for FieldError {}

/// A container id that breaks the id rule ([`super::ID_RULE`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid container id {id:?}: {rule}")]
pub struct IdError {
    /// The rejected id, as given.
    pub id: String,
    /// The rule (always [`super::ID_RULE`]).
    pub rule: &'static str,
}

/// Why a definition file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The definition file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file name does not give a valid id (`<id>.json`).
    #[error("{path}: {source}")]
    Id {
        /// The definition file.
        path: PathBuf,
        /// What is wrong with the id.
        source: IdError,
    },
    /// The id is masked: its file in force resolves to a character device
    /// (a symlink to `/dev/null`), as systemd masks units. There is no
    /// definition, and nothing may be written over the mask except on
    /// purpose.
    #[error("{path} is masked (a link to /dev/null)")]
    Masked {
        /// The mask, as the host sees it.
        path: PathBuf,
    },
    /// The JSON is malformed or a field breaks a rule.
    #[error("{path}: {source}")]
    Field {
        /// The definition file.
        path: PathBuf,
        /// The field and the rule.
        source: FieldError,
    },
}

impl DefinitionError {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            DefinitionError::Io { path, .. }
            | DefinitionError::Id { path, .. }
            | DefinitionError::Masked { path }
            | DefinitionError::Field { path, .. } => path,
        }
    }
}
