//! The reader threads: a store streamed session by session, or a big session read in parts, is
//! read on a thread of its own while the pipeline plans and writes what it has handed over, so
//! memory follows a queue of a few items, not the store or the session.

use std::sync::mpsc::{sync_channel, Receiver};

use super::ImportError;

/// Runs `read` on a thread of its own, handing what it emits to `take` through a queue of `queue`
/// items (0: a rendezvous, so the reader builds the next item while this one is taken in), and
/// returns what each returned. `take` consumes the receiver, so a reader blocked on a full queue
/// is released when `take` stops early on an error; what the reader emits after that is dropped.
/// A reader that panics is an error naming `what` it read.
pub(super) fn read_beside<T: Send, R: Send, C>(
    what: &str,
    queue: usize,
    read: impl FnOnce(&mut dyn FnMut(T)) -> R + Send,
    take: impl FnOnce(Receiver<T>) -> C,
) -> Result<(R, C), ImportError> {
    let (sender, receiver) = sync_channel::<T>(queue);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            // Sending fails only once `take` has stopped, on an error the run fails with.
            read(&mut |item| {
                let _ = sender.send(item);
            })
        });
        let taken = take(receiver);
        let read = reader.join().map_err(|panic| ImportError::ReaderPanicked {
            what: what.to_owned(),
            message: panic_message(panic.as_ref()),
        })?;
        Ok((read, taken))
    })
}

/// The message a panic carried, when it is text.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_arrive_in_order_and_a_panicking_reader_is_an_error_naming_what_it_read() {
        let (count, taken) = read_beside(
            "numbers",
            0,
            |emit| {
                (0..5).for_each(&mut *emit);
                5
            },
            |receiver| receiver.into_iter().collect::<Vec<i32>>(),
        )
        .unwrap();
        assert_eq!((count, taken), (5, vec![0, 1, 2, 3, 4]));

        let error = read_beside(
            "the store `/x.db`",
            1,
            |_: &mut dyn FnMut(i32)| panic!("bad row"),
            |receiver| receiver.into_iter().count(),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("the store `/x.db`") && text.contains("bad row"),
            "{text}"
        );
    }

    #[test]
    fn a_reader_blocked_on_a_full_queue_is_released_when_take_stops_early() {
        let (read, first) = read_beside(
            "numbers",
            1,
            |emit| {
                (0..1000).for_each(&mut *emit);
                "done"
            },
            |receiver| receiver.recv().unwrap(),
        )
        .unwrap();
        assert_eq!((read, first), ("done", 0));
    }
}
