//! STUB (replaced by the store branch): the local default database.
#![allow(dead_code, unused_variables)]
use crate::source::EnvLookup;

#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct LocalDbError;

pub fn ensure_running(env: EnvLookup<'_>) -> Result<tokio_postgres::Config, LocalDbError> {
    Err(LocalDbError)
}

pub fn running_config(env: EnvLookup<'_>) -> Option<tokio_postgres::Config> {
    None
}
