//! Retrying store operations that are safe to repeat, when the failure may pass.
//!
//! Only whole transactions are retried, and only those whose effect is the same however often
//! they run: a write batch (its upserts rewrite identical rows, and the last batch of a group
//! upserts the group's ledger entries too), slug assignment (under its lock
//! it assigns only what the book lacks), a migration (under its lock it applies only what the
//! history lacks). A retried operation takes a fresh connection from the pool, since the old one
//! may be dead. A commit whose answer was lost is retried too: repeating it changes nothing.
//!
//! Transient: connection failures (no answer, SQLSTATE class 08, server shutting down or starting,
//! 57P01-57P03), serialization failures (40001) and deadlocks (40P01). Never data errors: a row
//! the server rejects is rejected again.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::error::SqlState;

use super::StoreError;

/// The wait before the second attempt; each later wait doubles.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// No attempt starts later than this after the first: about 5 s of trying in all.
const BUDGET: Duration = Duration::from_secs(5);

/// Runs `attempt` until it succeeds, fails for good, or [`BUDGET`] is spent, waiting
/// exponentially longer between attempts.
pub(crate) async fn run<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut delay = FIRST_DELAY;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match attempt().await {
            Err(error) if error.is_transient() => error,
            done => return done,
        };
        if started.elapsed() + delay > BUDGET {
            return Err(StoreError::GaveUp {
                attempts,
                waited_ms: started.elapsed().as_millis() as u64,
                last: Box::new(error),
            });
        }
        tracing::warn!("{error}; retrying in {} ms", delay.as_millis());
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

/// Whether trying the same transaction again may succeed.
pub(crate) fn is_transient(error: &tokio_postgres::Error) -> bool {
    let Some(db) = error.as_db_error() else {
        // No SQLSTATE: the connection closed, or the socket failed (connect, read, write).
        // Encoding a parameter also fails without one, and is not transient: it has no io cause.
        return error.is_closed() || has_io_cause(error);
    };
    if super::error::is_pooler_refusal(error) {
        return false;
    }
    let code = db.code();
    code.code().starts_with("08")
        || [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code)
}

/// A unique violation in the system catalogs: concurrent DDL lost a race (two schemas running
/// `create extension if not exists ltree` at once in one database); running it again, it sees
/// the winner's object and skips it.
pub(crate) fn is_catalog_race(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| db.code() == &SqlState::UNIQUE_VIOLATION && db.schema() == Some("pg_catalog"))
}

fn has_io_cause(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn transient() -> StoreError {
        StoreError::Transient {
            action: "writing memories",
            detail: "connection closed".to_owned(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_they_pass() {
        let calls = AtomicU32::new(0);
        let result = run(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(transient()),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn data_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = run(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Query {
                action: "writing memories",
                detail: "invalid input syntax".to_owned(),
            })
        })
        .await;
        assert!(matches!(result, Err(StoreError::Query { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_stops_within_the_budget_and_says_so() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let result: Result<(), _> = run(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transient())
        })
        .await;
        let waited = started.elapsed();
        // 100 + 200 + 400 + 800 + 1600 ms of waiting; the next wait would pass 5 s.
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(waited, Duration::from_millis(3100));
        let error = result.unwrap_err();
        assert!(matches!(error, StoreError::GaveUp { attempts: 6, .. }));
        assert!(error.to_string().contains("run the import again"), "{error}");
    }
}
