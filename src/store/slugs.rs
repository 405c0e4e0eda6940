//! The persisted slug book (`memtree_projects`): once a project has a slug, it keeps it.

use tokio_postgres::types::Type;

use crate::failpoint;
use crate::slug::{ProjectKey, SlugBook};

use super::{retry, Store, StoreError};

/// First key of the advisory lock serialising slug assignment (the second is the schema's hash).
const SLUG_LOCK: i32 = 0x6d74_6d02;

impl Store {
    /// Every slug assigned so far.
    pub async fn load_slugs(&self) -> Result<SlugBook, StoreError> {
        let client = self.client().await?;
        read_book(&client as &tokio_postgres::Client, self).await
    }

    /// Under a transaction-level advisory lock: reads the book, assigns slugs to the projects not
    /// yet in it with [`SlugBook::assign`], inserts them and commits; returns the whole book.
    /// Concurrent runs queue on the lock, so the later one sees and keeps the earlier's slugs.
    /// Retried on transient errors: a retry reads the book again, so a lost commit assigns nothing twice.
    pub async fn assign_slugs(&self, projects: &[ProjectKey]) -> Result<SlugBook, StoreError> {
        retry::run(|| self.assign_slugs_once(projects)).await
    }

    async fn assign_slugs_once(&self, projects: &[ProjectKey]) -> Result<SlugBook, StoreError> {
        let mut pooled = self.client().await?;
        let client: &mut tokio_postgres::Client = &mut pooled;
        let transaction = client
            .transaction()
            .await
            .map_err(StoreError::query("starting slug assignment"))?;
        transaction
            .execute_typed(
                "select pg_advisory_xact_lock($1, hashtext($2))",
                &[(&SLUG_LOCK, Type::INT4), (&self.schema.as_str(), Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("waiting for the slug lock"))?;
        let mut book = read_book(&transaction, self).await?;
        let assigned = book.assign(projects);
        if !assigned.is_empty() {
            let keys: Vec<&str> = assigned.iter().map(|(project, _)| project.key.as_str()).collect();
            let slugs: Vec<&str> = assigned.iter().map(|(_, slug)| slug.as_str()).collect();
            let remotes: Vec<Option<&str>> = assigned
                .iter()
                .map(|(project, _)| project.remote.as_deref())
                .collect();
            transaction
                .execute_typed(
                    &format!(
                        "insert into {} (project_key, slug, git_remote) \
                         select * from unnest($1::text[], $2::text[], $3::text[])",
                        self.table("memtree_projects")
                    ),
                    &[
                        (&keys, Type::TEXT_ARRAY),
                        (&slugs, Type::TEXT_ARRAY),
                        (&remotes, Type::TEXT_ARRAY),
                    ],
                )
                .await
                .map_err(StoreError::query("saving new project slugs"))?;
        }
        failpoint::hit("slugs.before_commit");
        transaction
            .commit()
            .await
            .map_err(StoreError::query("saving new project slugs"))?;
        failpoint::hit("slugs.after_commit");
        Ok(book)
    }
}

async fn read_book(
    client: &impl tokio_postgres::GenericClient,
    store: &Store,
) -> Result<SlugBook, StoreError> {
    let rows = client
        .query_typed(
            &format!(
                "select project_key, slug from {}",
                store.table("memtree_projects")
            ),
            &[],
        )
        .await
        .map_err(StoreError::query("reading project slugs"))?;
    Ok(SlugBook::from_assignments(
        rows.into_iter().map(|row| (row.get(0), row.get(1))),
    ))
}
