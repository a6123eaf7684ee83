//! The GraphQL response cache.
//!
//! A catalog is read far more often than it changes, and many clients ask the
//! same questions (the offers of a country, one offer's page). The serialized
//! response of a query that ran without errors is kept, keyed by the request
//! (query text, operation name, variables) and the catalog version it was
//! computed at (`catalog_version`, bumped by every committed change in any
//! process on the database). A request first reads the current version: a
//! response computed at an older one is never served, so a cached answer is
//! exactly what running the query again would give.
//!
//! Concurrent requests for an answer not yet kept wait for the first of them
//! to compute it (single flight), so a popular query runs once per change of
//! the catalog, not once per waiting client. An answer with errors is not
//! kept (the error may be transient); the requests waiting for it then
//! compute in turn.
use std::{hash::Hash, sync::Arc};

use axum::body::Bytes;
use quick_cache::{
    DefaultHashBuilder, Weighter,
    sync::{Cache, DefaultLifecycle, PlaceholderGuard},
};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    version: i64,
    request: Arc<str>,
}

/// An entry weighs what it holds, so the capacity is in bytes.
#[derive(Debug, Clone)]
pub struct Size;

impl Weighter<Key, Bytes> for Size {
    fn weight(&self, key: &Key, body: &Bytes) -> u64 {
        (key.request.len() + body.len()) as u64 + 64
    }
}

pub enum Lookup<'a> {
    Hit(Bytes),
    Miss(Slot<'a>),
}

/// The right and duty to compute an answer not yet kept.
pub struct Slot<'a>(
    PlaceholderGuard<'a, Key, Bytes, Size, DefaultHashBuilder, DefaultLifecycle<Key, Bytes>>,
);

impl Slot<'_> {
    /// Keeps the computed answer and hands it to the lookups waiting for it.
    /// Entries of older catalog versions are never read again and are the
    /// first evicted.
    pub fn fill(self, body: Bytes) {
        // Refused only when the slot was displaced meanwhile: nothing to keep then.
        let _ = self.0.insert(body);
    }
}

/// Serialized responses by (catalog version, request); cheap to clone.
#[derive(Clone)]
pub struct ResponseCache {
    entries: Arc<Cache<Key, Bytes, Size>>,
}

impl ResponseCache {
    /// A cache holding up to `capacity_bytes` of requests and responses.
    pub fn new(capacity_bytes: u64) -> Self {
        // Sizing hint only: a typical entry (a page of offers) is tens of KiB.
        let items = usize::try_from(capacity_bytes / 16_384).unwrap_or(usize::MAX);
        Self {
            entries: Arc::new(Cache::with_weighter(items.max(16), capacity_bytes, Size)),
        }
    }

    /// What identifies a request's answer apart from the catalog's state.
    pub fn request_key(request: &async_graphql::Request) -> Option<Arc<str>> {
        serde_json::to_string(&(&request.query, &request.operation_name, &request.variables))
            .ok()
            .map(Arc::from)
    }

    /// The response to `request` at catalog `version`: kept, or a slot to
    /// fill once computed. While a slot is held, lookups of the same answer
    /// wait for it; dropping it unfilled lets the next of them compute.
    pub async fn lookup(&self, version: i64, request: Arc<str>) -> Lookup<'_> {
        match self
            .entries
            .get_value_or_guard_async(&Key { version, request })
            .await
        {
            Ok(body) => Lookup::Hit(body),
            Err(guard) => Lookup::Miss(Slot(guard)),
        }
    }

    /// Bytes held (requests and responses).
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(cache: &ResponseCache, version: i64, key: &Arc<str>) -> Option<Bytes> {
        match cache.lookup(version, key.clone()).await {
            Lookup::Hit(body) => Some(body),
            Lookup::Miss(_) => None,
        }
    }

    #[tokio::test]
    async fn an_answer_is_served_only_at_the_version_it_was_computed_at() {
        let cache = ResponseCache::new(1 << 20);
        let request = async_graphql::Request::new("{ offers { totalCount } }");
        let key = ResponseCache::request_key(&request).unwrap();
        let Lookup::Miss(slot) = cache.lookup(7, key.clone()).await else {
            panic!("an empty cache has nothing");
        };
        slot.fill(Bytes::from_static(b"{\"data\":1}"));
        assert_eq!(
            get(&cache, 7, &key).await.as_deref(),
            Some(&b"{\"data\":1}"[..])
        );
        assert_eq!(get(&cache, 8, &key).await, None);
        let other = ResponseCache::request_key(
            &async_graphql::Request::new("{ offers { totalCount } }").operation_name("Other"),
        )
        .unwrap();
        assert_eq!(get(&cache, 7, &other).await, None);
    }

    #[tokio::test]
    async fn concurrent_lookups_wait_for_the_first_to_compute() {
        let cache = ResponseCache::new(1 << 20);
        let key: Arc<str> = Arc::from("request");
        let Lookup::Miss(slot) = cache.lookup(1, key.clone()).await else {
            panic!("nothing kept yet");
        };
        let waiter = {
            let cache = cache.clone();
            let key = key.clone();
            tokio::spawn(async move { get(&cache, 1, &key).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "the second lookup waits for the slot"
        );
        slot.fill(Bytes::from_static(b"answer"));
        assert_eq!(waiter.await.unwrap().as_deref(), Some(&b"answer"[..]));
    }

    #[tokio::test]
    async fn the_capacity_bounds_what_is_kept() {
        let cache = ResponseCache::new(64 * 1024);
        for version in 0..100 {
            let key: Arc<str> = Arc::from(format!("request {version}"));
            if let Lookup::Miss(slot) = cache.lookup(version, key).await {
                slot.fill(Bytes::from(vec![b'x'; 4096]));
            }
        }
        assert!(cache.weight() <= 64 * 1024, "{}", cache.weight());
    }
}
