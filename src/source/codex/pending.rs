//! The messages of a session read before the end of the read settles them (whether user items
//! are kept, when undated messages are), and their count once a rollout passed its budget.

use chrono::{DateTime, Utc};

use crate::model::Message;
use crate::scope::MessageTally;
use crate::source::parts::PartBudget;

use super::prompt::prompt_title;

/// A message before timestamps are settled and the user-text source is chosen.
pub(super) struct Pending {
    pub(super) message: Message,
    /// No timestamp was known when it was read; it gets the session's start at the end.
    pub(super) undated: bool,
    /// A user `message` response item: dropped when the file has `user_message` events.
    pub(super) user_item: bool,
}

/// The messages of a rollout read past its budget, counted by what only the end of the file
/// settles: whether user items are kept (`keeps`) and the time of undated messages (the start).
#[derive(Debug)]
pub(super) struct Counted {
    /// Tallies by whether the message is a user item, then whether it is undated.
    tallies: [[MessageTally; 2]; 2],
    /// The title of the first prompt among all messages, and among all but user items.
    title_with_items: Option<String>,
    title_without_items: Option<String>,
}

impl Counted {
    pub(super) fn new(budget: &PartBudget) -> Self {
        let empty = MessageTally::new(budget.window);
        Counted {
            tallies: [[empty; 2]; 2],
            title_with_items: None,
            title_without_items: None,
        }
    }

    pub(super) fn count(&mut self, pending: &Pending) {
        let tally = &mut self.tallies[usize::from(pending.user_item)][usize::from(pending.undated)];
        if pending.undated {
            tally.count_undated(&pending.message);
        } else {
            tally.count(&pending.message);
        }
        if let Some(title) = prompt_title(&pending.message) {
            self.title_with_items.get_or_insert_with(|| title.clone());
            if !pending.user_item {
                self.title_without_items.get_or_insert(title);
            }
        }
    }

    /// The title `settle_title` would give, had every message been held.
    pub(super) fn title(&self, user_items_kept: bool) -> Option<String> {
        if user_items_kept {
            self.title_with_items.clone()
        } else {
            self.title_without_items.clone()
        }
    }

    /// The tally of the messages kept, the undated ones at `start`.
    pub(super) fn kept(&self, user_items_kept: bool, start: DateTime<Utc>) -> MessageTally {
        let at_start = |undated: &MessageTally| {
            let mut dated = *undated;
            if dated.messages() > 0 {
                dated.date(start);
            }
            dated
        };
        let [[dated, undated], [dated_items, undated_items]] = &self.tallies;
        let mut kept = *dated;
        kept.merge(&at_start(undated));
        if user_items_kept {
            kept.merge(dated_items);
            kept.merge(&at_start(undated_items));
        }
        kept
    }
}

/// Whether a message read is kept: where the era records `user_message` events they are the clean
/// prompts, and the user response items are the same prompts plus injected context (formats.md 2.4).
pub(super) fn keeps(pending: &Pending, user_items_kept: bool) -> bool {
    user_items_kept || !pending.user_item
}

/// A kept message with its time settled: an undated one is at the session's `start`.
pub(super) fn settle(pending: Pending, user_items_kept: bool, start: DateTime<Utc>) -> Option<Message> {
    if !keeps(&pending, user_items_kept) {
        return None;
    }
    let mut message = pending.message;
    if pending.undated {
        message.timestamp = start;
    }
    Some(message)
}
