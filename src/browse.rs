//! The commands that read the store (`search`, `show`, `status`): open it as every reading
//! command does, resolve what was asked (a session id or prefix), and read. Rendering is
//! `views`'; exit codes are `main`'s.

use std::io::Write;

use crate::env::EnvLookup;
use crate::status::{self, StatusReport};
use crate::store::target::DbTarget;
use crate::store::{self, Filters, SearchRequest, SearchResults, SessionSummary, Store, StoreError};
use crate::views::TranscriptWriter;

/// Why a reading command could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum BrowseError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the database runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

/// An open store and the runtime its connections live on.
pub struct Reader {
    runtime: tokio::runtime::Runtime,
    store: Store,
}

impl Reader {
    /// Opens the store (starting the local database if that is the one, migrating it if needed);
    /// a store that is missing or empty is [`StoreError::NothingImported`].
    pub fn open(target: &DbTarget, schema: &str, env: EnvLookup<'_>) -> Result<Reader, BrowseError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(BrowseError::Runtime)?;
        let store = runtime.block_on(store::open_for_reading(target, schema, env))?;
        Ok(Reader { runtime, store })
    }

    /// The one session `prefix` names: its whole id, or the start of only one session's id.
    pub fn session(&self, prefix: &str) -> Result<SessionSummary, BrowseError> {
        let mut sessions = self.runtime.block_on(self.store.sessions_named(prefix))?;
        match sessions.len() {
            0 => Err(BrowseError::Usage(format!(
                "no session `{prefix}` in the store (`memtree search` finds sessions by what was said)"
            ))),
            1 => Ok(sessions.remove(0)),
            _ => Err(BrowseError::Usage(format!(
                "`{prefix}` names more than one session; give more of the id:\n{}",
                sessions
                    .iter()
                    .map(|session| format!(
                        "  {} ({}) {}",
                        session.id,
                        session.tool,
                        session.title.as_deref().unwrap_or("(untitled)")
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))),
        }
    }

    /// The session of the newest message `filters` admit.
    pub fn last_session(&self, filters: &Filters) -> Result<SessionSummary, BrowseError> {
        self.runtime
            .block_on(self.store.last_session(filters))?
            .ok_or_else(|| {
                BrowseError::Usage(format!(
                    "no session in the store under {}",
                    filters
                        .project_roots
                        .iter()
                        .map(|root| format!("`{root}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
            })
    }

    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, BrowseError> {
        Ok(self.runtime.block_on(self.store.search(request))?)
    }

    /// Writes `session` to `out` as it is read, as a transcript or as JSON.
    pub fn show(
        &self,
        session: &SessionSummary,
        out: impl Write + Send,
        json: bool,
        home: Option<&std::path::Path>,
    ) -> Result<(), BrowseError> {
        let mut writer = TranscriptWriter::start(out, session, json, home).map_err(BrowseError::Output)?;
        let mut failed = None;
        self.runtime
            .block_on(self.store.for_each_message(session, &mut |message| {
                if failed.is_none() {
                    failed = writer.message(&message).err();
                }
            }))?;
        if let Some(error) = failed {
            return Err(BrowseError::Output(error));
        }
        writer.finish().map_err(BrowseError::Output)
    }

    pub fn status(&self, env: EnvLookup<'_>) -> Result<StatusReport, BrowseError> {
        Ok(self.runtime.block_on(status::status(&self.store, env))?)
    }
}
