//! STUB (replaced by the store branch): where the database is.
#![allow(dead_code, unused_variables)]
use super::StoreError;
use crate::source::EnvLookup;

#[derive(Clone, Debug)]
pub enum DbTarget {
    Url { url: String, origin: &'static str },
    Libpq,
    Local,
}

pub fn resolve(flag: Option<&str>, env: EnvLookup<'_>) -> Result<DbTarget, StoreError> {
    Ok(DbTarget::Local)
}

impl DbTarget {
    pub fn describe(&self) -> String {
        String::new()
    }
    pub fn config(&self, env: EnvLookup<'_>) -> Result<tokio_postgres::Config, StoreError> {
        Err(StoreError)
    }
}
