//! Opaque keyset cursors: base64 of the ordering, the sort value and the
//! primary key. A cursor is only valid with the ordering it was made for.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::store::reads::{SortField, SortValue};

const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CursorBody {
    v: u8,
    /// Sort field and direction, e.g. `updatedAt:desc`.
    o: String,
    k: SortValue,
    i: i64,
}

/// A position in one ordering of the offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub value: SortValue,
    pub id: i64,
}

/// The name of an ordering inside a cursor.
pub fn ordering_name(field: SortField, descending: bool) -> String {
    let field = match field {
        SortField::UpdatedAt => "updatedAt",
        SortField::CreatedAt => "createdAt",
        SortField::Name => "name",
        SortField::DefaultPayout => "defaultPayout",
    };
    format!("{field}:{}", if descending { "desc" } else { "asc" })
}

impl Cursor {
    pub fn encode(&self, ordering: &str) -> String {
        let body = CursorBody {
            v: VERSION,
            o: ordering.to_owned(),
            k: self.value.clone(),
            i: self.id,
        };
        // A struct of strings and integers always serializes.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
    }

    /// Decodes a cursor made for `ordering`; the error is the message for the client.
    pub fn decode(cursor: &str, ordering: &str) -> Result<Self, String> {
        let invalid = || format!("invalid cursor {cursor:?}: use a cursor returned by this API");
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let body: CursorBody = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if body.v != VERSION {
            return Err(invalid());
        }
        if body.o != ordering {
            return Err(format!(
                "this cursor was made for the ordering {}, not {ordering}: restart paging without it",
                body.o
            ));
        }
        let expects_text = ordering.starts_with("name:");
        match (&body.k, expects_text) {
            (SortValue::Text(_), true) | (SortValue::Int(_), false) => Ok(Self {
                value: body.k,
                id: body.i,
            }),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_orderings_and_garbage() {
        let ordering = ordering_name(SortField::UpdatedAt, true);
        let cursor = Cursor {
            value: SortValue::Int(1_709_510_000),
            id: 1019,
        };
        let encoded = cursor.encode(&ordering);
        assert_eq!(Cursor::decode(&encoded, &ordering).unwrap(), cursor);
        let other = ordering_name(SortField::Name, false);
        assert!(
            Cursor::decode(&encoded, &other)
                .unwrap_err()
                .contains("ordering")
        );
        assert!(Cursor::decode("not-a-cursor", &ordering).is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("{\"v\":1}"), &ordering).is_err());
    }
}
