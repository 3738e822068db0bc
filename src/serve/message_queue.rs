//! The append-only history of change messages. A client's cursor is the number of
//! messages it has seen, so a client that reconnects with an old cursor gets everything
//! it missed. The history lives as long as the session (one per server run).

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

/// Messages in order, and a watch channel that wakes subscribers on every push.
pub struct MessageQueue<T> {
    messages: RwLock<Vec<Arc<T>>>,
    cursor: watch::Sender<u32>,
}

impl<T> Default for MessageQueue<T> {
    fn default() -> Self {
        MessageQueue::new()
    }
}

impl<T> MessageQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        MessageQueue {
            messages: RwLock::new(Vec::new()),
            cursor: watch::Sender::new(0),
        }
    }

    /// Appends a message and wakes every subscriber. Callable from any thread.
    pub fn push(&self, message: T) {
        let cursor = {
            let mut messages = self.messages.write().unwrap_or_else(|e| e.into_inner());
            messages.push(Arc::new(message));
            messages.len() as u32
        };
        self.cursor.send_replace(cursor);
    }

    /// The number of messages so far: the cursor of a client that has seen them all.
    pub fn cursor(&self) -> u32 {
        let messages = self.messages.read().unwrap_or_else(|e| e.into_inner());
        messages.len() as u32
    }

    /// The messages after `cursor` and the cursor after them. A cursor beyond the end
    /// (from another session) counts as the end.
    pub fn since(&self, cursor: u32) -> (u32, Vec<Arc<T>>) {
        let messages = self.messages.read().unwrap_or_else(|e| e.into_inner());
        let end = messages.len();
        let start = (cursor as usize).min(end);
        (end as u32, messages[start..].to_vec())
    }

    /// A receiver that changes on every push. Mark it seen (`borrow_and_update`) before
    /// calling [`MessageQueue::since`] so no push is missed.
    pub fn subscribe(&self) -> watch::Receiver<u32> {
        self.cursor.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_cursors_get_what_they_missed() {
        let queue = MessageQueue::new();
        let mut changes = queue.subscribe();
        assert_eq!(queue.since(0), (0, vec![]));
        queue.push("a");
        queue.push("b");
        assert!(changes.has_changed().unwrap());
        assert_eq!(*changes.borrow_and_update(), 2);
        let (cursor, missed) = queue.since(1);
        assert_eq!(cursor, 2);
        assert_eq!(missed.iter().map(|m| **m).collect::<Vec<_>>(), ["b"]);
        assert_eq!(queue.since(7), (2, vec![]));
        assert_eq!(queue.cursor(), 2);
    }
}
