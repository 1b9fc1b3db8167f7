//! berth-jobs: the definition model (always built) and, with the default
//! `jobs` feature, the stateful job library: the store of definitions, port
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
//! | `/var/lib/berth/ports/<port>` | a port reservation: a symlink whose target is the owner id |
//! | `/var/lib/berth/mcs/c<X>,c<Y>` | an MCS level reservation, same shape |
//! | `/var/lib/berth/owners/<id>/` | what `<id>` owns (`port-<n>`, `mcs-c<X>,c<Y>`, `user`), written before the reservation itself |
//! | `/var/lib/berth/pending/<id>` | a mutating job on `<id>` is in progress; found by the next job = the writer died |
//! | `/var/lib/berth/requests/<request id>.json` | results of mutating jobs by request id (replay) |
//! | `/var/lib/berth/home/<id>` | home of the user `ctr-<id>` of an isolated container |
//! | `/var/lib/berth/{ports,mcs}.next` | allocation cursors (hints; losing one costs nothing) |
pub mod definition;

#[cfg(feature = "jobs")]
pub mod config;
#[cfg(feature = "jobs")]
pub mod context;
#[cfg(feature = "jobs")]
pub mod error;
#[cfg(feature = "jobs")]
pub mod fsutil;
#[cfg(feature = "jobs")]
pub mod host;
#[cfg(feature = "jobs")]
pub mod jobs;
#[cfg(feature = "jobs")]
pub mod journal;
#[cfg(feature = "jobs")]
pub mod links;
#[cfg(feature = "jobs")]
pub mod lock;
#[cfg(feature = "jobs")]
pub mod mcs;
#[cfg(feature = "jobs")]
pub mod paths;
#[cfg(feature = "jobs")]
pub mod podman;
#[cfg(feature = "jobs")]
pub mod ports;
#[cfg(feature = "jobs")]
pub mod request_id;
#[cfg(feature = "jobs")]
pub mod reservation;
#[cfg(feature = "jobs")]
pub mod response;
#[cfg(feature = "jobs")]
pub mod selinux;
#[cfg(feature = "jobs")]
pub mod store;
#[cfg(feature = "jobs")]
pub mod systemd;
#[cfg(feature = "jobs")]
pub mod users;
