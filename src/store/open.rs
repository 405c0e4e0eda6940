//! The connection policy of a run: a real import must reach its database, starting memtree's
//! local one when nothing else is configured; a dry run uses the database when it can, never
//! creates or starts anything, and says why it could not compare when it cannot; a command that
//! reads (`search`, `show`, `status`) starts the local database when it exists, applies pending
//! migrations, and finds nothing imported where there is no memory table or no row in it.

use super::target::DbTarget;
use super::{Store, StoreError};
use crate::env::EnvLookup;
use crate::localdb;

/// The database a run reached, and what it found of it.
#[derive(Default)]
pub struct Opened {
    /// `None` in a dry run that cannot compare with the database.
    pub store: Option<Store>,
    /// The database, described without its password, when it was reached.
    pub described: Option<String>,
    /// Why a dry run does not compare, or what it found (no memory table yet).
    pub note: Option<String>,
}

/// Opens the database of an import (migrated, ready to write), or of a dry run (as it is).
pub async fn open_for_run(
    target: &DbTarget,
    schema: &str,
    dry_run: bool,
    env: EnvLookup<'_>,
) -> Result<Opened, StoreError> {
    if !dry_run {
        let settings = match target.settings() {
            Some(settings) => settings,
            None => localdb::ensure_running(env)?.into(),
        };
        return Ok(Opened {
            store: Some(Store::open(settings, schema).await?),
            described: Some(target.describe()),
            note: None,
        });
    }
    let settings = match target.settings() {
        Some(settings) => settings,
        None => match localdb::running_config(env) {
            Some(config) => config.into(),
            None => {
                return Ok(Opened {
                    note: Some("the local database is not running (`memtree db start`)".to_owned()),
                    ..Opened::default()
                })
            }
        },
    };
    Ok(match Store::open_existing(settings, schema).await {
        Ok(store) => Opened {
            note: store
                .is_none()
                .then(|| "the memory table does not exist yet: every message would be new".to_owned()),
            store,
            described: Some(target.describe()),
        },
        Err(err) => Opened {
            note: Some(format!("{} is not reachable: {err}", target.describe())),
            ..Opened::default()
        },
    })
}

/// Opens the store a reading command uses: migrated (an existing store gets new migrations on
/// its first run, whatever the command), and holding at least one memory.
pub async fn open_for_reading(
    target: &DbTarget,
    schema: &str,
    env: EnvLookup<'_>,
) -> Result<Store, StoreError> {
    let settings = match target.settings() {
        Some(settings) => settings,
        None if !localdb::status(env)?.initialized => return Err(StoreError::NothingImported),
        None => localdb::ensure_running(env)?.into(),
    };
    // Only a store memtree made is migrated: reading never creates one. A migrated store is read
    // with the privileges reading needs; pending migrations need those of an import.
    let store = match Store::open_existing(settings.clone(), schema).await? {
        None => return Err(StoreError::NothingImported),
        Some(store) if store.migrated => store,
        Some(_) => Store::open(settings, schema).await?,
    };
    if store.is_empty().await? {
        return Err(StoreError::NothingImported);
    }
    Ok(store)
}
