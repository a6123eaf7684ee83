//! Relay global object ids: base64 of `Type:key`, opaque to clients.
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// What a global id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalId {
    Offer(i64),
    Payout { offer: i64, payout: i64 },
    Category(i64),
    Advertiser(i64),
    Channel(i64),
}

impl GlobalId {
    pub fn to_id(self) -> ID {
        let raw = match self {
            GlobalId::Offer(id) => format!("Offer:{id}"),
            GlobalId::Payout { offer, payout } => format!("Payout:{offer}:{payout}"),
            GlobalId::Category(id) => format!("Category:{id}"),
            GlobalId::Advertiser(id) => format!("Advertiser:{id}"),
            GlobalId::Channel(id) => format!("Channel:{id}"),
        };
        ID(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Decodes an id made by [`GlobalId::to_id`]; `None` for anything else.
    pub fn parse(id: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?).ok()?;
        let mut parts = raw.split(':');
        let kind = parts.next()?;
        let first: i64 = parts.next()?.parse().ok()?;
        let second = parts.next();
        if parts.next().is_some() {
            return None;
        }
        Some(match (kind, second) {
            ("Offer", None) => GlobalId::Offer(first),
            ("Payout", Some(payout)) => GlobalId::Payout {
                offer: first,
                payout: payout.parse().ok()?,
            },
            ("Category", None) => GlobalId::Category(first),
            ("Advertiser", None) => GlobalId::Advertiser(first),
            ("Channel", None) => GlobalId::Channel(first),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_ids() {
        for id in [
            GlobalId::Offer(1019),
            GlobalId::Payout {
                offer: 1019,
                payout: 51,
            },
            GlobalId::Category(18),
            GlobalId::Advertiser(64),
            GlobalId::Channel(3),
        ] {
            assert_eq!(GlobalId::parse(&id.to_id()), Some(id));
        }
        assert_eq!(GlobalId::parse("1019"), None);
        assert_eq!(GlobalId::parse(&URL_SAFE_NO_PAD.encode("User:1")), None);
        assert_eq!(GlobalId::parse(&URL_SAFE_NO_PAD.encode("Offer:1:2")), None);
    }
}
