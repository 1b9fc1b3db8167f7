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

/// The podman container: `berth-<id>`.
pub fn container_name(id: &str) -> String {
    format!("berth-{id}")
}

/// The user (and its group and subordinate ranges) of an isolated
/// container: `ctr-<id>`; 28 id characters keep it within useradd's 32.
pub fn user_name(id: &str) -> String {
    format!("ctr-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
