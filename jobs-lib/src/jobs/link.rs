//! Link containers (geard's `LinkContainersRequest`): set the
//! `NetworkLinks` of one or more containers, all or none. The links take
//! effect when the container (re)starts: the generator's
//! `ExecStartPost=berth internal apply-links <id>` installs them
//! ([`crate::links`]).

use super::{begin_mutation, check_id, Job};
use crate::context::Context;
use crate::definition::{Definition, NetworkLink};
use crate::error::{JobError, ERR_LINK_CONTAINERS_FAILED};
use crate::response::{JobResponse, Success};

/// The links of one container (replacing its current ones; empty clears).
#[derive(Debug, Clone)]
pub struct ContainerLinks {
    /// The container id.
    pub id: String,
    /// Its network links.
    pub network_links: Vec<NetworkLink>,
}

/// Set the links of several containers at once.
#[derive(Debug, Clone)]
pub struct LinkContainersRequest {
    /// One entry per container; ids unique.
    pub links: Vec<ContainerLinks>,
}

impl Job for LinkContainersRequest {
    fn name(&self) -> &'static str {
        "link"
    }
    fn container(&self) -> Option<&str> {
        (self.links.len() == 1).then(|| self.links[0].id.as_str())
    }
    fn mutates(&self) -> bool {
        true
    }
    fn check(&self) -> Result<(), JobError> {
        if self.links.is_empty() {
            return Err(JobError::invalid("At least one container must be named."));
        }
        let mut seen = std::collections::HashSet::new();
        for l in &self.links {
            check_id(&l.id)?;
            if !seen.insert(&l.id) {
                return Err(JobError::invalid(format!(
                    "Container {} is named twice.",
                    l.id
                )));
            }
            let probe = Definition {
                image: "localhost/check".into(),
                network_links: l.network_links.clone(),
                ..Definition::default()
            };
            probe.validate_request().map_err(|e| {
                JobError::invalid("The links are not valid.").detail(format!("{}: {e}", l.id))
            })?;
        }
        Ok(())
    }
    fn execute(&self, ctx: &Context, _resp: &mut dyn JobResponse) -> Result<Success, JobError> {
        let _lock = begin_mutation(ctx)?;
        let store = ctx.store();
        let mut updated = Vec::new();
        for l in &self.links {
            let mut loaded = store.require(&l.id)?;
            loaded.definition.network_links = l.network_links.clone();
            loaded
                .definition
                .validate()
                .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(format!("{}: {e}", l.id)))?;
            let before = store.snapshot(&l.id)?;
            updated.push((l.id.clone(), loaded.definition, before));
        }
        let mut written: Vec<(&str, &crate::fsutil::Entry)> = Vec::new();
        for (id, def, before) in &updated {
            if let Err(e) = store.write(id, def) {
                for (wid, b) in written {
                    if let Err(r) = store.restore(wid, b) {
                        ctx.info(&format!("error: rolling back the links of {wid}: {r}"));
                    }
                }
                return Err(ERR_LINK_CONTAINERS_FAILED.detail(e));
            }
            written.push((id, before));
        }
        ctx.systemd
            .daemon_reload()
            .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(e))?;
        let ids: Vec<&str> = self.links.iter().map(|l| l.id.as_str()).collect();
        Ok(Success::ok()
            .data(serde_json::json!({"Containers": ids}))
            .message(format!(
                "links set for {} (applied when each starts)",
                ids.join(", ")
            )))
    }
}
