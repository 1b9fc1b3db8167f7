//! Content of a container (geard's `ContentRequest`): only the `env`
//! content type, the environment as `NAME=VALUE` lines; any other type is
//! geard's `ErrContentTypeDoesNotMatch` (NotAcceptable). Like `env-get`,
//! a read that shows values: never journaled.

use super::{check_id, Job};
use crate::context::Context;
use crate::error::{JobError, ERR_CONTENT_TYPE_DOES_NOT_MATCH, ERR_ENVIRONMENT_NOT_FOUND};
use crate::response::{JobResponse, Success};

/// The content types berth serves.
pub const CONTENT_TYPES: &[&str] = &["env"];

/// Content of type `content_type` of container `id`.
#[derive(Debug, Clone, Default)]
pub struct ContentRequest {
    /// The container id.
    pub id: String,
    /// The content type (`env`).
    pub content_type: String,
}

impl Job for ContentRequest {
    fn name(&self) -> &'static str {
        "content"
    }
    fn container(&self) -> Option<&str> {
        Some(&self.id)
    }
    fn check(&self) -> Result<(), JobError> {
        check_id(&self.id)?;
        if !CONTENT_TYPES.contains(&self.content_type.as_str()) {
            return Err(ERR_CONTENT_TYPE_DOES_NOT_MATCH.detail(format!(
                "({:?}; berth serves {})",
                self.content_type,
                CONTENT_TYPES.join(", ")
            )));
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let l = ctx.store().require(&self.id)?;
        let Some(env) = &l.definition.environment else {
            return Err(ERR_ENVIRONMENT_NOT_FOUND
                .detail(format!("(container {} has no environment)", self.id)));
        };
        let mut content = String::new();
        for v in &env.variables {
            content.push_str(&format!("{}={}\n", v.name, v.value));
        }
        Ok(Success::ok()
            .data(serde_json::json!({"Id": self.id, "Type": self.content_type, "Content": content}))
            .message(content.trim_end_matches('\n').to_owned()))
    }
}
