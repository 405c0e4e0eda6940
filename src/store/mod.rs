//! STUB (replaced by the store branch): the PostgreSQL store API the pipeline calls.
#![allow(dead_code, unused_variables, clippy::unused_async)]

pub mod target;

use serde::Serialize;

use crate::plan::PlannedMemory;
use crate::slug::{ProjectKey, SlugBook};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WriteCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, other: Self) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct StoreError;

pub struct Store;

impl Store {
    pub async fn open(config: tokio_postgres::Config, schema: &str) -> Result<Store, StoreError> {
        Err(StoreError)
    }
    pub async fn open_existing(
        config: tokio_postgres::Config,
        schema: &str,
    ) -> Result<Option<Store>, StoreError> {
        Err(StoreError)
    }
    pub async fn load_slugs(&self) -> Result<SlugBook, StoreError> {
        Err(StoreError)
    }
    pub async fn assign_slugs(&self, projects: &[ProjectKey]) -> Result<SlugBook, StoreError> {
        Err(StoreError)
    }
    pub async fn classify(&self, memories: &[PlannedMemory]) -> Result<WriteCounts, StoreError> {
        Err(StoreError)
    }
    pub async fn write(&self, memories: &[PlannedMemory]) -> Result<WriteCounts, StoreError> {
        Err(StoreError)
    }
}
