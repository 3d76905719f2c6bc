//! Sources turn the world into a [`crate::snapshot::Snapshot`]: a snapshot directory (`dir`),
//! or live AWS (`aws`, feature `aws`).

pub mod dir;
