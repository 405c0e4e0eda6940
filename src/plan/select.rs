//! Selection: the ids a run has taken so far, in run order, so each is stored once.

use rayon::prelude::*;
use uuid::Uuid;

use super::prepare::{MessageSkip, PreparedSession};

/// The memory ids selected so far in a run, so that a message copied into several files is
/// stored once, from the first file selected.
///
/// A run selects hundreds of thousands of ids, in its order, between the parallel parts of its
/// work. In one set, each insert was a cache miss, and they all ran on one thread. The ids are
/// held in shards by their random bits instead: each shard is small enough to stay in cache, and
/// the shards are selected into in parallel. Equal ids share a shard, and each shard takes its
/// ids in run order, so every row is decided as one set in run order would decide it.
pub struct SelectedIds {
    shards: Vec<foldhash::HashSet<Uuid>>,
}

impl Default for SelectedIds {
    fn default() -> Self {
        SelectedIds {
            shards: (0..SELECTED_ID_SHARDS).map(|_| Default::default()).collect(),
        }
    }
}

/// Shards of [`SelectedIds`]: a power of two.
const SELECTED_ID_SHARDS: usize = 64;

impl SelectedIds {
    /// Selects the rows of `sessions`, in order: a row whose id an earlier row took (in these
    /// sessions or in an earlier selection) becomes a [`MessageSkip::Duplicate`].
    pub fn select(&mut self, sessions: &mut [PreparedSession]) {
        // Each row's place, by the shard of its id, in run order.
        let mut by_shard: Vec<Vec<(Uuid, usize, usize)>> = vec![Vec::new(); SELECTED_ID_SHARDS];
        for (session_index, session) in sessions.iter().enumerate() {
            for (row_index, row) in session.rows.iter().enumerate() {
                if let Ok(row) = row {
                    let id = row.id();
                    let shard = usize::from(id.as_bytes()[15]) & (SELECTED_ID_SHARDS - 1);
                    by_shard[shard].push((id, session_index, row_index));
                }
            }
        }
        let duplicates: Vec<(usize, usize)> = self
            .shards
            .par_iter_mut()
            .zip(by_shard)
            .flat_map_iter(|(shard, rows)| {
                shard.reserve(rows.len());
                rows.into_iter()
                    .filter(|(id, ..)| !shard.insert(*id))
                    .map(|(_, session_index, row_index)| (session_index, row_index))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (session_index, row_index) in duplicates {
            sessions[session_index].rows[row_index] = Err(MessageSkip::Duplicate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::memory_id;
    use crate::model::Tool;
    use crate::plan::prepare::{OwnFacts, PreparedRow, RowCounts};
    use crate::plan::tests::{at, session};
    use crate::redact::Redactions;

    #[test]
    fn selecting_in_shards_decides_as_one_set_in_run_order() {
        // Ids from a small pool, so that they repeat within a session, across sessions and
        // across selections; some rows were skipped before they were selected.
        let pool: Vec<Uuid> = (0..300)
            .map(|n| memory_id(Tool::named("claude"), "s", &n.to_string(), at(0)))
            .collect();
        let mut state = 7u64;
        let mut next = move |below: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % below
        };
        let counts = || RowCounts {
            truncated: false,
            redactions: Redactions::default(),
            own: OwnFacts {
                cwd: false,
                model: false,
            },
        };
        let mut one_set = std::collections::HashSet::new();
        let mut selected = SelectedIds::default();
        let mut duplicates = 0;
        for _ in 0..5 {
            let mut sessions: Vec<PreparedSession> = (0..8)
                .map(|_| PreparedSession {
                    session: session(Vec::new()),
                    rows: (0..next(60))
                        .map(|_| match next(10) {
                            0 => Err(MessageSkip::NoText),
                            _ => Ok(PreparedRow::Counted(pool[next(pool.len())], counts())),
                        })
                        .collect(),
                })
                .collect();
            let as_one_set: Vec<Vec<bool>> = sessions
                .iter()
                .map(|session| {
                    let rows = session.rows.iter();
                    rows.map(|row| row.as_ref().is_ok_and(|row| !one_set.insert(row.id())))
                        .collect()
                })
                .collect();
            selected.select(&mut sessions);
            let taken_as_duplicates: Vec<Vec<bool>> = sessions
                .iter()
                .map(|session| {
                    let rows = session.rows.iter();
                    rows.map(|row| matches!(row, Err(MessageSkip::Duplicate)))
                        .collect()
                })
                .collect();
            assert_eq!(taken_as_duplicates, as_one_set);
            duplicates += as_one_set
                .iter()
                .flatten()
                .filter(|duplicate| **duplicate)
                .count();
        }
        assert!(duplicates > 100, "the pool repeats ids: {duplicates} duplicates");
    }
}
