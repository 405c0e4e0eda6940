//! memtree: AI coding agent session histories into a searchable PostgreSQL memory store.
//!
//! Stages, in the order data flows: `source` (discover and parse) -> `filter` -> `plan` ->
//! `store` (write); `import` runs them for one tool; `watch` runs imports as files change. See
//! docs/ARCHITECTURE.md.

pub mod browse;
pub mod cli;
pub mod env;
pub mod failpoint;
pub mod filter;
pub mod git;
pub mod id;
pub mod import;
pub mod ledger;
pub mod limits;
pub mod localdb;
pub mod model;
pub mod output;
pub mod plan;
pub mod redact;
pub mod report;
pub mod scope;
pub mod service;
pub mod slug;
pub mod source;
pub mod status;
pub mod store;
pub mod views;
pub mod watch;
