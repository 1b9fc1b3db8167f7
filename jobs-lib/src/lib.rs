//! berth-jobs: the stateful job library over `berth-definition`: the store of definitions, port
//! reservations, SELinux MCS levels, per-container users, the systemd client
//! and geard's container jobs (`containers/jobs`), done right.
//!
//! # State on disk (every path below is under `BERTH_ROOT`)
//!
//! | path | what |
//! |---|---|
//! | `/etc/berth/containers/<id>.json` | definitions written by the jobs (first dir of the search path) |
//! | `/etc/berth/berth.conf` | settings (`PortRange=`, `ExplicitPortRange=`), optional |
//! | `/var/lib/berth/lock` | the store lock (`flock`), held by every mutating job |
//! | `/var/lib/berth/ports/<port>` | a TCP port reservation: a symlink whose target is the owner id; UDP `ports/udp-<port>` ([`ports`]) |
//! | `/var/lib/berth/mcs/c<X>,c<Y>` | an MCS level reservation, same shape |
//! | `/var/lib/berth/networks/<name>` | a podman network berth created (holding the id it was created for); removed with the network when nothing uses it ([`networks`]) |
//! | `/var/lib/berth/owners/<id>/` | what `<id>` owns (`port-<n>`, `port-udp-<n>`, `mcs-c<X>,c<Y>`, `user`), written before the reservation itself |
//! | `/var/lib/berth/pending/<id>` | a mutating job on `<id>` is in progress; found by the next job = the writer died (`state`: a start/stop, `retire`: an updated container's old ports wait for its restart) |
//! | `/var/lib/berth/link.intent` | the definitions a link job is writing (0600); found by the next job = finish it |
//! | `/var/lib/berth/requests/<request id>.json` | results of mutating jobs by request id (replay), 0600, the request's digest but no body, pruned after 24 h |
//! | `/var/lib/berth/uid.next`, `subid.next` | how far uid and subordinate-range allocation got: never handed out again (not hints) |
//! | `/var/lib/berth/home/<id>` | home of the user `ctr-<id>` of an isolated container |
//! | `/var/lib/berth/{ports,mcs}.next` | allocation cursors (hints; losing one costs nothing) |
//! | `/run/berth/builds/<name>.json` | a build's record (`berth builds`): name, tag, source, result, exit status, times; 0600 in a 0700 directory, gone at reboot |
//!
//! Definitions and journal entries are 0600 and the state directory 0700:
//! they hold environment values, which are root-only.
/// The definition model, search path and names, shared with the generator.
pub use berth_definition as definition;

pub mod config;
pub mod context;
pub mod deps;
pub mod digest;
pub mod error;
pub mod fsutil;
pub mod host;
pub mod in_force;
pub mod interrupt;
pub mod jobs;
pub mod journal;
pub mod links;
pub mod lock;
pub mod logfmt;
pub mod mcs;
pub mod networks;
pub mod paths;
pub mod podman;
pub mod ports;
pub mod request_id;
pub mod reservation;
pub mod response;
pub mod selinux;
pub mod store;
pub mod systemd;
pub mod users;
pub mod volumes;
