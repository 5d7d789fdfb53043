//! An independent generator and oracle for the members-and-points acceptance test.
//!
//! `generate` builds a deterministic dataset delivered in phases (each phase's outcome does not
//! depend on the delivery order inside it); `oracle` is a second, deliberately plain
//! implementation of `docs/points.md` that shares no code with `shared/src/points/`.
#![allow(dead_code)]

pub mod generate;
pub mod oracle;
