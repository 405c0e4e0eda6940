//! memtree: AI coding agent session histories into a searchable PostgreSQL memory store.
//!
//! Stages, in the order data flows: `source` (discover and parse) -> `filter` -> `plan` ->
//! `store` (write). See docs/ARCHITECTURE.md.

pub mod filter;
pub mod id;
pub mod localdb;
pub mod model;
pub mod plan;
pub mod slug;
pub mod source;
pub mod store;
