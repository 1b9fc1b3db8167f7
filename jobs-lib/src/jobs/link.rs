//! Link containers (geard's `LinkContainersRequest`): set the
//! `NetworkLinks` of one or more containers, all or none. The links take
//! effect when the container (re)starts: the generator's
//! `ExecStartPost=berth internal apply-links <id>` installs them
//! ([`crate::links`]).
//!
//! Crash points: `link-intent`, `link-written` (after each definition).

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
    fn canonical_request(&self) -> serde_json::Value {
        let links: Vec<_> = self
            .links
            .iter()
            .map(|l| serde_json::json!({"Id": l.id, "NetworkLinks": l.network_links}))
            .collect();
        serde_json::json!({"Job": "link", "Links": links})
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
        let mut changed = false;
        for l in &self.links {
            let mut loaded = store.require(&l.id)?;
            changed |= loaded.definition.network_links != l.network_links;
            loaded.definition.network_links = l.network_links.clone();
            loaded
                .definition
                .validate()
                .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(format!("{}: {e}", l.id)))?;
            let before = store.snapshot(&l.id)?;
            updated.push((l.id.clone(), loaded.definition, before));
        }
        // All or none across a crash: the new definitions go into one
        // intent file first; the next job finishes an intent it finds.
        // What each base file will hold (never a drop-in's values).
        let intent = updated
            .iter()
            .map(|(id, def, _)| {
                Ok(Intended {
                    id: id.clone(),
                    definition: String::from_utf8_lossy(&store.base_bytes(id, def)?).into_owned(),
                })
            })
            .collect::<Result<Vec<Intended>, JobError>>()?;
        write_intent(ctx, &intent)?;
        ctx.crash_point("link-intent");
        let mut written: Vec<(&str, &crate::fsutil::Entry)> = Vec::new();
        for (id, def, before) in &updated {
            if let Err(e) = store.write(id, def) {
                for (wid, b) in written {
                    if let Err(r) = store.restore(wid, b) {
                        ctx.info(&format!("error: rolling back the links of {wid}: {r}"));
                    }
                }
                let _ = crate::fsutil::remove_if_exists(&intent_file(ctx));
                return Err(ERR_LINK_CONTAINERS_FAILED.detail(e));
            }
            written.push((id, before));
            ctx.crash_point("link-written");
        }
        let _ = crate::fsutil::remove_if_exists(&intent_file(ctx));
        ctx.systemd
            .daemon_reload()
            .map_err(|e| ERR_LINK_CONTAINERS_FAILED.detail(e))?;
        let ids: Vec<&str> = self.links.iter().map(|l| l.id.as_str()).collect();
        Ok(Success::ok()
            .data(serde_json::json!({"Containers": ids, "Changed": changed}))
            .message(format!(
                "links set for {} (applied when each starts)",
                ids.join(", ")
            )))
    }
}

/// One definition a link job is writing.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Intended {
    id: String,
    /// The whole new base file (canonical JSON without drop-ins).
    definition: String,
}

/// `/var/lib/berth/link.intent`: the definitions a link job is writing,
/// mode 0600 (definitions hold environment values).
fn intent_file(ctx: &Context) -> std::path::PathBuf {
    ctx.paths.state_dir().join("link.intent")
}

fn write_intent(ctx: &Context, intent: &[Intended]) -> Result<(), JobError> {
    let p = intent_file(ctx);
    let bytes = serde_json::to_vec(intent).expect("intent serializes");
    crate::fsutil::write_atomic_private(&p, &bytes, None, "")
        .map_err(|e| crate::store::io_error(p.display(), e))
}

/// Finishes a link job that died after writing its intent: writes every
/// definition it named, daemon-reloads, removes the intent. Called under
/// the lock by every mutating job; a failure is logged and retried by the
/// next job, never fails this one.
pub(crate) fn recover(ctx: &Context) {
    let p = intent_file(ctx);
    let Ok(Some(bytes)) = crate::fsutil::read_if_exists(&p) else {
        return;
    };
    let intent: Vec<Intended> = match serde_json::from_slice(&bytes) {
        Ok(i) => i,
        Err(e) => {
            ctx.info(&format!("warning: {}: {e}; removed", p.display()));
            let _ = crate::fsutil::remove_if_exists(&p);
            return;
        }
    };
    ctx.info("recovering a link job that did not finish");
    let store = ctx.store();
    for i in &intent {
        if crate::definition::validate_id(&i.id).is_err() {
            continue;
        }
        if let Err(e) = store.write_raw(&i.id, i.definition.as_bytes()) {
            ctx.info(&format!("warning: finishing the links of {}: {e}", i.id));
            return;
        }
    }
    if let Err(e) = ctx.systemd.daemon_reload() {
        ctx.info(&format!(
            "warning: daemon-reload after recovering links: {e}"
        ));
    }
    let _ = crate::fsutil::remove_if_exists(&p);
}
