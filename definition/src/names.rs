//! Names derived from a container id: units, the podman container, the
//! container user. The generator writes them and the jobs address them, so
//! they live here once.
//!
//! No two valid ids give the same name of any kind: ids cannot hold `@`,
//! so `berth-proxy@<id>.service` never equals another id's service, and
//! every other name is a fixed prefix and suffix around the id.

/// The container's service unit: `berth-<id>.service`.
pub fn service_unit(id: &str) -> String {
    format!("berth-{id}.service")
}

/// The socket unit of a socket-activated container: `berth-<id>.socket`.
pub fn socket_unit(id: &str) -> String {
    format!("berth-{id}.socket")
}

/// The proxy unit of a proxied socket-activated container:
/// `berth-proxy@<id>.service`.
pub fn proxy_unit(id: &str) -> String {
    format!("berth-proxy@{id}.service")
}

/// The target of a container group (`Group`): `berth-<group>.target`.
/// Group names follow the id rule and are never `proxy` or `api`
/// ([`crate::RESERVED_GROUPS`]), so a group target is never mistaken for
/// one of berth's own units; `berth.target` has no `-`.
pub fn group_target(group: &str) -> String {
    format!("berth-{group}.target")
}

/// The podman container: `berth-<id>`.
pub fn container_name(id: &str) -> String {
    format!("berth-{id}")
}

/// The user (and its group and subordinate ranges) of an isolated
/// container: `ctr-<id>`; 28 id characters keep it within useradd's 32.
pub fn user_name(id: &str) -> String {
    format!("ctr-{id}")
}

/// The podman volume of a container's named volume `name`:
/// `berth-<id>-<name>`. Volume names hold no `-` (see
/// [`crate::NamedVolume::name`]), so the last `-` splits it back
/// ([`volume_owner`]) and no two (id, name) pairs share a volume.
pub fn volume_name(id: &str, name: &str) -> String {
    format!("berth-{id}-{name}")
}

/// The (id, name) a podman volume name stands for, when it is one of
/// berth's (`berth-<valid id>-<valid volume name>`).
pub fn volume_owner(volume: &str) -> Option<(&str, &str)> {
    let rest = volume.strip_prefix("berth-")?;
    let (id, name) = rest.rsplit_once('-')?;
    (crate::validate_id(id).is_ok() && crate::validate::is_volume_name(name)).then_some((id, name))
}

/// The file holding a container's environment, written by the generator
/// next to its units (mode 0600): `berth-<id>.env`.
pub fn env_file(id: &str) -> String {
    format!("berth-{id}.env")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_split_back() {
        assert_eq!(volume_name("a-b", "c"), "berth-a-b-c");
        assert_eq!(volume_owner("berth-a-b-c"), Some(("a-b", "c")));
        assert_eq!(volume_owner("berth-a-bc"), Some(("a", "bc")));
        assert_eq!(volume_owner("berth-x"), None);
        assert_eq!(volume_owner("other-a-b"), None);
        assert_eq!(volume_owner("berth--b"), None);
    }

    #[test]
    fn proxy_unit_never_equals_a_service() {
        // The only way `berth-<a>.service` could equal `berth-proxy@<b>.service`
        // is an id `proxy@<b>`, which the id rule forbids.
        assert!(crate::validate_id("proxy@web").is_err());
        assert_eq!(proxy_unit("web"), "berth-proxy@web.service");
        assert_eq!(service_unit("web"), "berth-web.service");
        assert_eq!(user_name("web"), "ctr-web");
    }
}
