//! `Subscription.offerChanged`: committed changes, filtered per subscriber
//! against the offer's new state.
use async_graphql::{
    Context, Enum, ErrorExtensions, Result, SimpleObject, Subscription as SubscriptionRoot,
};
use chrono::{DateTime, Utc};
use futures::{Stream, stream};
use tokio::sync::broadcast::error::RecvError;

use super::{filter::OfferFilter, types::Offer};
use crate::{
    events::{BusEvent, EventBus},
    ingest::{AppliedChange, ChangeKind},
    metrics::Metrics,
    store::reads::OfferConditions,
};

/// Why an offer is in an event.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OfferChangeKind {
    /// The offer is new to the catalog (and matches the filter).
    Created,
    /// The offer changed and matches the filter.
    Updated,
    /// The offer changed and no longer matches the filter (paused, deleted,
    /// retargeted …): drop it. Sent once; `offer` is its new state.
    Removed,
}

/// One change of one offer, as seen through a subscriber's filter.
#[derive(SimpleObject)]
pub struct OfferChange {
    pub kind: OfferChangeKind,
    /// The offer's new state; every nested field resolves.
    pub offer: Offer,
    /// What changed, in Everflow's names (`payouts`, `targeting.countries`, …).
    pub changed_fields: Vec<String>,
    /// The offer's revision after the change.
    pub revision: i32,
    /// When the change was committed.
    pub at: DateTime<Utc>,
}

/// What a subscriber is sent for a change, if anything.
pub fn classify(conditions: &OfferConditions, change: &AppliedChange) -> Option<OfferChangeKind> {
    if conditions.matches(&change.state) {
        Some(match change.kind {
            ChangeKind::Created => OfferChangeKind::Created,
            ChangeKind::Updated => OfferChangeKind::Updated,
        })
    } else if change
        .previous
        .as_ref()
        .is_some_and(|p| conditions.matches(p))
    {
        Some(OfferChangeKind::Removed)
    } else {
        None
    }
}

/// Counts a live subscription for as long as it exists.
struct Live(Metrics);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.subscriptions.dec();
    }
}

fn missed(message: String, count: u64) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", "EVENTS_MISSED");
        e.set("missed", count);
    })
}

pub struct Subscription;

#[SubscriptionRoot]
impl Subscription {
    /// Changes to offers matching `filter` (default: every status but DELETED),
    /// after they commit. An offer that stops matching is sent once more with
    /// kind REMOVED. If this subscriber falls behind, or the server may have
    /// missed changes, it receives an error with code `EVENTS_MISSED` (and
    /// `missed`, the count when known) and the stream goes on: re-query the
    /// catalog to resynchronize.
    async fn offer_changed(
        &self,
        ctx: &Context<'_>,
        filter: Option<OfferFilter>,
    ) -> Result<impl Stream<Item = Result<OfferChange>> + use<>> {
        let conditions = filter.unwrap_or_default().to_conditions()?;
        let bus = ctx.data::<EventBus>()?;
        let receiver = bus.subscribe();
        let metrics = bus.metrics().clone();
        metrics.subscriptions.inc();
        let live = Live(metrics);
        Ok(stream::unfold(
            (receiver, conditions, live),
            |(mut receiver, conditions, live)| async move {
                loop {
                    let item = match receiver.recv().await {
                        Ok(BusEvent::Change(change)) => match classify(&conditions, &change) {
                            Some(kind) => Ok(OfferChange {
                                kind,
                                offer: Offer::new(change.state.clone(), change.revision),
                                changed_fields: change.changed_fields.clone(),
                                revision: change.revision,
                                at: change.at,
                            }),
                            None => continue,
                        },
                        Ok(BusEvent::Gap) => Err(missed(
                            "the server may have missed offer changes (its change listener reconnected): re-query the catalog"
                                .into(),
                            0,
                        )),
                        Err(RecvError::Lagged(count)) => {
                            live.0.events_lagged.inc_by(count);
                            Err(missed(
                                format!("this subscription fell {count} events behind and missed them: re-query the catalog"),
                                count,
                            ))
                        }
                        Err(RecvError::Closed) => return None,
                    };
                    return Some((item, (receiver, conditions, live)));
                }
            },
        ))
    }
}
