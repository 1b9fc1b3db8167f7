//! Dependencies between containers (`Requires`, `Wants`, `After`) as the
//! jobs check them against the definitions in force — every directory of
//! the search path, written by berth or by hand, read through
//! `berth-definition` as the generator reads them.
//!
//! - **Install** refuses a dependency on an id that has no usable
//!   definition in force (none, masked, or unreadable): the generator
//!   would only warn at boot, and the unit would wait on a unit that does
//!   not exist. It also refuses an ordering cycle through the new
//!   definition: `Requires` and `After` order units (systemd breaks an
//!   ordering cycle by dropping a job, so some container would silently not
//!   start); `Wants` alone orders nothing, so a `Wants` loop is allowed.
//! - **Delete** of a container that others `Require` is refused, naming
//!   them, unless forced (`berth delete --force`): the dependents would be
//!   stopped with it by systemd and would fail to start until it is back.
//!   Dependents through `Wants` or `After` only are warned about.

use crate::context::Context;
use crate::definition::{Definition, DefinitionError};
use crate::error::{FailureKind, JobError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The rule install checks, as its messages state it.
pub const DEPENDENCY_RULE: &str =
    "Requires, Wants and After name containers with a definition in force";

/// What the search path holds, by id: the definition or why it cannot be
/// used, and its file.
pub struct Definitions {
    /// Usable definitions in force, by id.
    pub usable: BTreeMap<String, (PathBuf, Definition)>,
    /// Ids in force that cannot be used: masked or unreadable, with why.
    pub unusable: BTreeMap<String, String>,
}

impl Definitions {
    /// Reads every definition in force.
    ///
    /// Errors: a directory of the search path cannot be listed.
    pub fn read(ctx: &Context) -> Result<Definitions, JobError> {
        let listed = crate::deps::listed(ctx)?;
        let mut d = Definitions {
            usable: BTreeMap::new(),
            unusable: BTreeMap::new(),
        };
        for l in listed {
            match l.definition {
                Ok(def) => {
                    d.usable.insert(l.id, (l.path, def));
                }
                Err(DefinitionError::Masked { path }) => {
                    d.unusable.insert(
                        l.id,
                        format!("it is masked ({} links to /dev/null)", path.display()),
                    );
                }
                Err(e) => {
                    d.unusable.insert(
                        l.id,
                        format!(
                            "its definition cannot be used: {}",
                            e.to_string().replace('\n', " ")
                        ),
                    );
                }
            }
        }
        Ok(d)
    }
}

/// The dependency fields of `def`, with their JSON names.
fn fields(def: &Definition) -> [(&'static str, &Vec<String>); 3] {
    [
        ("Requires", &def.requires),
        ("Wants", &def.wants),
        ("After", &def.after),
    ]
}

/// The ids `def` is ordered after (`Requires` and `After`).
fn ordered_after(def: &Definition) -> impl Iterator<Item = &String> {
    def.requires.iter().chain(def.after.iter())
}

fn invalid(detail: String) -> JobError {
    JobError::invalid("The definition is not valid.").detail(detail)
}

/// Checks the dependencies of `def`, to be installed as `id`, against the
/// definitions in force (`id`'s own replaced by `def`). Returns warnings
/// (a cycle among other containers that `id` would be ordered after).
///
/// Errors: `InvalidRequest` naming the field (`Requires[0]`), the id and
/// the rule: an id that names itself, an id without a usable definition
/// in force, or an ordering cycle through `id` (named `web → db → web`).
pub fn check_install(ctx: &Context, id: &str, def: &Definition) -> Result<Vec<String>, JobError> {
    if fields(def).iter().all(|(_, l)| l.is_empty()) {
        return Ok(Vec::new());
    }
    let mut all = Definitions::read(ctx)?;
    for (field, list) in fields(def) {
        for (i, dep) in list.iter().enumerate() {
            if dep == id {
                return Err(invalid(format!(
                    "field {field}[{i}]: {id} names itself; a container cannot depend on itself"
                )));
            }
            if all.usable.contains_key(dep) {
                continue;
            }
            let why = all
                .unusable
                .get(dep)
                .cloned()
                .unwrap_or_else(|| "no definition in force has this id".to_owned());
            return Err(invalid(format!(
                "field {field}[{i}]: container {dep}: {why} ({DEPENDENCY_RULE}; install {dep} first)"
            )));
        }
    }
    all.usable
        .insert(id.to_owned(), (ctx.paths.definition_file(id), def.clone()));
    let graph: BTreeMap<&str, Vec<&str>> = all
        .usable
        .iter()
        .map(|(k, (_, d))| (k.as_str(), ordered_after(d).map(String::as_str).collect()))
        .collect();
    let mut warnings = Vec::new();
    if let Some(cycle) = find_cycle(&graph, id) {
        let named = cycle.join(" → ");
        if cycle.first().map(String::as_str) == Some(id) {
            let next = &cycle[1];
            let field = if def.requires.contains(next) {
                "Requires"
            } else {
                "After"
            };
            let list = if field == "Requires" {
                &def.requires
            } else {
                &def.after
            };
            let i = list.iter().position(|d| d == next).unwrap_or(0);
            return Err(invalid(format!(
                "field {field}[{i}]: the dependencies form a cycle {named} (Requires and After order units, and systemd cannot start a cycle in order)"
            )));
        }
        warnings.push(format!(
            "{id} is ordered after a dependency cycle among other containers: {named}"
        ));
    }
    Ok(warnings)
}

/// A cycle reachable from `start` along `graph`'s edges, as the ids on it
/// with the first repeated at the end; one through `start` begins with it.
fn find_cycle(graph: &BTreeMap<&str, Vec<&str>>, start: &str) -> Option<Vec<String>> {
    fn visit<'a>(
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        node: &'a str,
        stack: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = stack.iter().position(|n| *n == node) {
            let mut c: Vec<String> = stack[pos..].iter().map(|s| s.to_string()).collect();
            c.push(node.to_owned());
            return Some(c);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(graph, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    // A cycle through `start` first: that is the one this install makes.
    let mut stack = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    visit(graph, start, &mut stack, &mut done)
}

/// The containers in force that depend on `id`: (dependent, field, file).
pub fn dependents(all: &Definitions, id: &str) -> Vec<(String, &'static str, PathBuf)> {
    let mut out = Vec::new();
    for (other, (path, def)) in &all.usable {
        if other == id {
            continue;
        }
        for (field, list) in fields(def) {
            if list.iter().any(|d| d == id) {
                out.push((other.clone(), field, path.clone()));
            }
        }
    }
    out
}

/// The check of `berth delete ID`: refuses when others `Require` `id`
/// (unless `force`), and returns warnings for the other dependents (and,
/// forced, for those that require it).
///
/// Errors: `InvalidRequest` naming every container that requires `id`.
pub fn check_delete(ctx: &Context, id: &str, force: bool) -> Result<Vec<String>, JobError> {
    // A directory nobody can list does not block a delete (one broken
    // thing never blocks a job on another container): it is said instead.
    let all = match Definitions::read(ctx) {
        Ok(a) => a,
        Err(e) => return Ok(vec![format!("dependents of {id} not checked: {e}")]),
    };
    let deps = dependents(&all, id);
    let required: Vec<String> = deps
        .iter()
        .filter(|(_, f, _)| *f == "Requires")
        .map(|(d, _, p)| format!("{d} ({})", p.display()))
        .collect();
    if !required.is_empty() && !force {
        return Err(JobError::invalid("Other containers require this one.")
            .detail(format!(
                "(id {id}: required by {}; delete or change them first, or delete with --force: systemd then stops them with {id}, and they fail to start until {id} is back)",
                required.join(", ")
            ))
            .with_data(serde_json::json!({
                "Id": id,
                "RequiredBy": deps.iter().filter(|(_, f, _)| *f == "Requires").map(|(d, _, _)| d).collect::<Vec<_>>(),
            })));
    }
    Ok(deps
        .iter()
        .map(|(d, f, _)| {
            if *f == "Requires" {
                format!("{d} requires {id}, which is deleted (--force): it fails to start until {id} is back")
            } else {
                format!("{d} names {id} in {f}, which is deleted: it starts without it")
            }
        })
        .collect())
}

/// Every definition on the search path, as a job's error when a directory
/// cannot be listed (dependencies, groups and updates all need the whole
/// set, never a part of it).
pub(crate) fn listed(ctx: &Context) -> Result<Vec<crate::store::Listed>, JobError> {
    ctx.store().list().map_err(|e| {
        JobError::new(
            FailureKind::Error,
            "Unable to read the definitions in force.",
        )
        .detail(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_named_from_the_start() {
        let g: BTreeMap<&str, Vec<&str>> = [
            ("web", vec!["db"]),
            ("db", vec!["cache"]),
            ("cache", vec!["web"]),
        ]
        .into();
        assert_eq!(
            find_cycle(&g, "web").unwrap().join(" → "),
            "web → db → cache → web"
        );
        let g: BTreeMap<&str, Vec<&str>> =
            [("web", vec!["db"]), ("db", vec!["x"]), ("x", vec!["db"])].into();
        assert_eq!(find_cycle(&g, "web").unwrap().join(" → "), "db → x → db");
        let g: BTreeMap<&str, Vec<&str>> = [("web", vec!["db"]), ("db", vec![])].into();
        assert!(find_cycle(&g, "web").is_none());
    }
}
