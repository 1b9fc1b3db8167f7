//! Named volumes: a container's data (data survives stop).
//!
//! A definition's `Volumes` are podman volumes `berth-<id>-<Name>`, which
//! podman creates on first use and nothing of berth removes but `berth
//! delete --volumes` and `berth volume rm`.
//!
//! **Image `VOLUME`s.** podman gives each `VOLUME` path of an image that
//! nothing mounts an *anonymous* volume: a fresh one per container, so
//! every new container (each start: the unit runs `podman run --replace`)
//! starts empty, and `--rm` or `podman rm --volumes` delete the old one.
//! The generator cannot look into images (no side effects, no IPC), so
//! `berth install` does: it inspects the image and records each such path
//! as a named volume in the definition (Name `1`, `2`, …), reusing the
//! Name the previous definition had for the same path, so the data
//! survives an update too. Recording it (rather than rendering it at
//! generation time) also makes the volume visible in the definition,
//! `berth volumes` and `berth.json(5)` terms, and the generator never
//! renders `--rm` or `rm --volumes` (see `render.rs`), so whatever podman
//! still creates anonymously (an image updated with a new `VOLUME`, not
//! yet re-installed) is kept as well.

use crate::context::Context;
use crate::definition::{Definition, NamedVolume};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Adds a named volume to `def` for every path of `image_paths` that no
/// `Volumes` or `VolumeConfig` entry mounts; returns the (Name, path)
/// pairs added. Names come from `old` for the same path when free, else
/// the smallest number not used by `def` or `old` (a number once given to
/// a path is not handed to another, whose data would then mix).
pub fn map_image_volumes(
    def: &mut Definition,
    old: Option<&Definition>,
    image_paths: &[String],
) -> Vec<(String, String)> {
    let mut added = Vec::new();
    for path in image_paths {
        let mounted = def.volumes.iter().any(|v| &v.container_path == path)
            || def.volumes().iter().any(|v| &v.container_path == path);
        if mounted {
            continue;
        }
        let used = |n: &str, def: &Definition| {
            def.volumes.iter().any(|v| v.name == n)
                || old.is_some_and(|o| {
                    o.volumes
                        .iter()
                        .any(|v| v.name == n && &v.container_path != path)
                })
        };
        let previous = old
            .and_then(|o| o.volumes.iter().find(|v| &v.container_path == path))
            .map(|v| v.name.clone())
            .filter(|n| !def.volumes.iter().any(|v| &v.name == n));
        let name = previous.unwrap_or_else(|| {
            (1..)
                .map(|n: u32| n.to_string())
                .find(|n| !used(n, def))
                .expect("a free number")
        });
        let candidate = NamedVolume {
            name: name.clone(),
            container_path: path.clone(),
            read_only: false,
            relabel: None,
        };
        def.volumes.push(candidate);
        // A path podman's syntax cannot carry (`,` or `:`) stays anonymous.
        if def.validate_request().is_err() {
            def.volumes.pop();
            continue;
        }
        added.push((name, path.clone()));
    }
    added
}

/// The install step: inspects `def.image` and maps its `VOLUME`s
/// ([`map_image_volumes`]). When the image cannot be inspected (not
/// pulled yet, no podman), says so and goes on: nothing deletes the
/// anonymous volumes, and installing again after a pull maps them.
pub fn on_install(ctx: &Context, old: Option<&Definition>, def: &mut Definition) {
    if !ctx.image_volumes {
        return;
    }
    match crate::podman::image_volumes(ctx, &def.image) {
        Ok(paths) => {
            for (name, path) in map_image_volumes(def, old, &paths) {
                ctx.info(&format!(
                    "info: the image's VOLUME {path} is kept in named volume {name}"
                ));
            }
        }
        Err(e) => ctx.info(&format!(
            "warning: cannot inspect image {} ({e}); its VOLUME paths get podman's anonymous volumes \
(kept, but a new container does not see them): pull the image and install again",
            def.image
        )),
    }
}

/// Bytes a directory tree takes on disk (allocated blocks, as `du`),
/// without following symlinks or crossing into other file systems;
/// unreadable entries count 0.
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(top) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    let dev = top.dev();
    let mut total = top.blocks() * 512;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            total += m.blocks() * 512;
            if m.is_dir() && m.dev() == dev {
                stack.push(e.path());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(vols: &[(&str, &str)]) -> Definition {
        Definition {
            image: "localhost/db".into(),
            volumes: vols
                .iter()
                .map(|(n, p)| NamedVolume {
                    name: n.to_string(),
                    container_path: p.to_string(),
                    read_only: false,
                    relabel: None,
                })
                .collect(),
            ..Definition::default()
        }
    }

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn image_volumes_become_numbered_named_volumes() {
        let mut d = def(&[("data", "/data")]);
        let added = map_image_volumes(&mut d, None, &paths(&["/data", "/logs", "/var/x"]));
        assert_eq!(
            added,
            [("1".into(), "/logs".into()), ("2".into(), "/var/x".into())]
        );
        assert_eq!(d.volumes.len(), 3);
        // Mapping again adds nothing.
        assert!(map_image_volumes(&mut d, None, &paths(&["/logs"])).is_empty());
    }

    /// An update keeps each path's Name (and so its data), and never
    /// hands a number used for another path to a new one.
    #[test]
    fn updates_keep_names_per_path() {
        let old = def(&[("1", "/logs"), ("2", "/var/x")]);
        let mut new = def(&[]);
        let added = map_image_volumes(&mut new, Some(&old), &paths(&["/new", "/var/x"]));
        let want: Vec<(String, String)> =
            vec![("3".into(), "/new".into()), ("2".into(), "/var/x".into())];
        assert_eq!(added, want);
    }

    #[test]
    fn paths_podman_cannot_carry_stay_anonymous() {
        let mut d = def(&[]);
        assert!(map_image_volumes(&mut d, None, &paths(&["/a:b", "/c,d"])).is_empty());
        assert!(d.volumes.is_empty());
    }

    #[test]
    fn disk_usage_counts_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/f"), vec![1u8; 100_000]).unwrap();
        assert!(disk_usage(d.path()) >= 100_000);
        assert_eq!(disk_usage(&d.path().join("missing")), 0);
    }
}
