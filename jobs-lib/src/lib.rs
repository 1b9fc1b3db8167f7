//! berth-jobs: the definition model (always built) and, with the default
//! `jobs` feature, the stateful job library.
pub mod definition;
