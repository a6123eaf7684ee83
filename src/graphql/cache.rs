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
use std::{hash::Hash, sync::Arc};

use axum::body::Bytes;
use quick_cache::{Weighter, sync::Cache};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    version: i64,
    request: Arc<str>,
}

/// An entry weighs what it holds, so the capacity is in bytes.
#[derive(Debug, Clone)]
struct Size;

impl Weighter<Key, Bytes> for Size {
    fn weight(&self, key: &Key, body: &Bytes) -> u64 {
        (key.request.len() + body.len()) as u64 + 64
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

    /// The response to `request` computed at catalog `version`, if kept.
    pub fn get(&self, version: i64, request: &Arc<str>) -> Option<Bytes> {
        self.entries.get(&Key {
            version,
            request: request.clone(),
        })
    }

    /// Keeps the response to `request` computed at catalog `version`. Entries
    /// of older versions are never read again and are the first evicted.
    pub fn insert(&self, version: i64, request: Arc<str>, body: Bytes) {
        self.entries.insert(Key { version, request }, body);
    }

    /// Bytes held (requests and responses).
    pub fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_served_only_at_the_version_it_was_computed_at() {
        let cache = ResponseCache::new(1 << 20);
        let request = async_graphql::Request::new("{ offers { totalCount } }");
        let key = ResponseCache::request_key(&request).unwrap();
        cache.insert(7, key.clone(), Bytes::from_static(b"{\"data\":1}"));
        assert_eq!(cache.get(7, &key).as_deref(), Some(&b"{\"data\":1}"[..]));
        assert_eq!(cache.get(8, &key), None);
        let other = ResponseCache::request_key(
            &async_graphql::Request::new("{ offers { totalCount } }").operation_name("Other"),
        )
        .unwrap();
        assert_eq!(cache.get(7, &other), None);
    }

    #[test]
    fn the_capacity_bounds_what_is_kept() {
        let cache = ResponseCache::new(64 * 1024);
        for version in 0..100 {
            let key: Arc<str> = Arc::from(format!("request {version}"));
            cache.insert(version, key, Bytes::from(vec![b'x'; 4096]));
        }
        assert!(cache.weight() <= 64 * 1024, "{}", cache.weight());
    }
}
