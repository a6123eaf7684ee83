//! Parsing of Everflow offer deliveries, in every variant real payloads come in,
//! into one [`OfferDelivery`] (SPEC §3.2).
//!
//! Policy: absent members are `Field::Absent` / `None` (the stored value stays),
//! `null` and the sentinels (`0` ids, `""`, `"unknown"`, `"null_value"`) are
//! "none", numbers may come as numeric strings or integral floats, and a value
//! that cannot mean what its member means is an [`InvalidField`] carrying the
//! JSON pointer of that member.
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A member that cannot mean what it should; answered with `422`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidField {
    /// JSON pointer of the member (for a missing member, where it should be).
    pub path: String,
    pub message: String,
}

impl InvalidField {
    fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

type Parsed<T> = Result<T, InvalidField>;

/// A scalar member as the delivery states it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// Not in the payload: the stored value stays.
    #[default]
    Absent,
    /// `null` or a sentinel: the value is cleared.
    Null,
    Value(T),
}

impl<T> Field<T> {
    /// `None` when absent, else the new value (`Some(None)` clears).
    pub fn update(self) -> Option<Option<T>> {
        match self {
            Field::Absent => None,
            Field::Null => Some(None),
            Field::Value(v) => Some(Some(v)),
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(f(v)),
        }
    }

    fn or(self, other: Field<T>) -> Field<T> {
        match self {
            Field::Absent => other,
            present => present,
        }
    }
}

/// An advertiser, category or channel as an offer references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Party {
    /// A reference that knows only the id.
    pub fn stub(id: i64) -> Self {
        Self {
            id,
            network_id: None,
            name: None,
            status: None,
        }
    }

    /// True when nothing but the id is known.
    pub fn is_stub(&self) -> bool {
        self.network_id.is_none() && self.name.is_none() && self.status.is_none()
    }
}

/// One payout/revenue entry; the base conversion is `is_default`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutEntry {
    pub network_offer_payout_revenue_id: i64,
    pub entry_name: Option<String>,
    pub is_default: bool,
    pub payout_type: Option<String>,
    pub payout_amount: Option<Decimal>,
    pub payout_percentage: Option<Decimal>,
    pub revenue_type: Option<String>,
    pub revenue_amount: Option<Decimal>,
    pub revenue_percentage: Option<Decimal>,
    pub currency_id: Option<String>,
    pub is_private: Option<bool>,
    pub must_approve_conversion: Option<bool>,
    pub allow_duplicate_conversion: Option<bool>,
}

/// A targeting rule: a country code, device type or platform, included or excluded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    pub value: String,
    /// `include` or `exclude` (other values are kept as sent, lower-cased).
    pub targeting_type: String,
}

impl Rule {
    pub fn is_exclude(&self) -> bool {
        self.targeting_type == "exclude"
    }

    pub fn is_include(&self) -> bool {
        self.targeting_type == "include"
    }
}

/// One delivery, normalized. Relationship members are `None` when absent
/// (the stored set stays) and `Some(vec![])` when present and empty (cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferDelivery {
    pub network_offer_id: i64,
    pub network_id: Field<i64>,
    /// From `network_advertiser_id`, else `relationship.advertiser`.
    pub advertiser_id: Field<i64>,
    pub advertiser: Option<Party>,
    /// From `network_category_id`, else `relationship.category`.
    pub category_id: Field<i64>,
    pub category: Option<Party>,
    pub name: Field<String>,
    pub offer_status: Field<String>,
    pub currency_id: Field<String>,
    pub destination_url: Field<String>,
    pub preview_url: Field<String>,
    pub thumbnail_url: Field<String>,
    pub visibility: Field<String>,
    pub daily_conversion_cap: Field<i64>,
    pub weekly_conversion_cap: Field<i64>,
    pub monthly_conversion_cap: Field<i64>,
    pub global_conversion_cap: Field<i64>,
    pub time_created: Field<i64>,
    pub time_saved: Field<i64>,
    pub labels: Option<Vec<String>>,
    pub channels: Option<Vec<Party>>,
    pub payouts: Option<Vec<PayoutEntry>>,
    pub countries: Option<Vec<Rule>>,
    pub device_types: Option<Vec<Rule>>,
    pub platforms: Option<Vec<Rule>>,
}

/// Reads `network_offer_id` alone, for recording it beside a rejected delivery.
pub fn offer_id_hint(body: &Value) -> Option<i64> {
    let map = body.as_object()?;
    id(map, "", "network_offer_id").ok().and_then(|f| match f {
        Field::Value(v) => Some(v),
        _ => None,
    })
}

/// Parses a JSON object into a delivery.
pub fn parse_offer(body: &Map<String, Value>) -> Parsed<OfferDelivery> {
    let network_offer_id = match id(body, "", "network_offer_id")? {
        Field::Value(v) => v,
        Field::Absent => {
            return Err(InvalidField::new(
                "/network_offer_id",
                "network_offer_id is required",
            ));
        }
        Field::Null => {
            return Err(InvalidField::new(
                "/network_offer_id",
                "network_offer_id must be a positive integer",
            ));
        }
    };
    let relationship = object_member(body, "", "relationship")?;

    let mut delivery = OfferDelivery {
        network_offer_id,
        network_id: id(body, "", "network_id")?,
        name: text(body, "", "name")?,
        offer_status: text(body, "", "offer_status")?,
        currency_id: text(body, "", "currency_id")?.map(|c| c.to_ascii_uppercase()),
        destination_url: text(body, "", "destination_url")?,
        preview_url: text(body, "", "preview_url")?,
        thumbnail_url: text(body, "", "thumbnail_url")?,
        visibility: text(body, "", "visibility")?,
        daily_conversion_cap: count(body, "", "daily_conversion_cap")?,
        weekly_conversion_cap: count(body, "", "weekly_conversion_cap")?,
        monthly_conversion_cap: count(body, "", "monthly_conversion_cap")?,
        global_conversion_cap: count(body, "", "global_conversion_cap")?,
        time_created: count(body, "", "time_created")?,
        time_saved: count(body, "", "time_saved")?,
        ..OfferDelivery::default()
    };
    delivery.advertiser_id = id(body, "", "network_advertiser_id")?;
    delivery.category_id = id(body, "", "network_category_id")?;
    delivery.labels = top_level_labels(body)?;

    if let Some((rel, rel_path)) = relationship {
        if let Some(party) = party_member(rel, &rel_path, "advertiser", "network_advertiser_id")? {
            if delivery.advertiser_id == Field::Absent {
                delivery.advertiser_id = Field::Value(party.id);
            }
            if delivery.advertiser_id == Field::Value(party.id) {
                delivery.advertiser = Some(party);
            }
        }
        if let Some(party) = party_member(rel, &rel_path, "category", "network_category_id")? {
            if delivery.category_id == Field::Absent {
                delivery.category_id = Field::Value(party.id);
            }
            if delivery.category_id == Field::Value(party.id) {
                delivery.category = Some(party);
            }
        }
        if let Some(labels) = relationship_labels(rel, &rel_path)? {
            delivery.labels = Some(labels);
        }
        delivery.channels = channels(rel, &rel_path)?;
        if let Some((payouts, path)) = first_present(rel, &rel_path, &["payout_revenue", "payouts"])
        {
            delivery.payouts = Some(payout_list(payouts, &path)?);
        }
        if delivery.thumbnail_url == Field::Absent
            && let Some((asset, path)) = object_member(rel, &rel_path, "thumbnail_asset")?
        {
            delivery.thumbnail_url = text(asset, &path, "url")?;
        }
        targeting(rel, &rel_path, &mut delivery)?;
    }
    if delivery.payouts.is_none()
        && let Some((payouts, path)) = first_present(body, "", &["payout_revenue"])
    {
        delivery.payouts = Some(payout_list(payouts, &path)?);
    }
    Ok(delivery)
}

fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

fn index(path: &str, i: usize) -> String {
    format!("{path}/{i}")
}

/// The first of `keys` present with a non-null value.
fn first_present<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    keys: &[&str],
) -> Option<(&'a Value, String)> {
    keys.iter().find_map(|k| {
        map.get(*k)
            .filter(|v| !v.is_null())
            .map(|v| (v, child(path, k)))
    })
}

fn is_sentinel(s: &str) -> bool {
    let s = s.trim();
    s.is_empty() || s.eq_ignore_ascii_case("unknown") || s.eq_ignore_ascii_case("null_value")
}

/// An integer: a JSON integer, an integral float or a numeric string.
fn integer_value(value: &Value, path: &str) -> Parsed<Option<i64>> {
    let not_integer = || {
        InvalidField::new(
            path,
            format!("expected an integer, got {}", describe(value)),
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                integral_float(n.as_f64().ok_or_else(not_integer)?)
                    .map(Some)
                    .ok_or_else(not_integer)
            }
        }
        Value::String(s) if is_sentinel(s) => Ok(None),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                return Ok(Some(i));
            }
            s.parse::<f64>()
                .ok()
                .and_then(integral_float)
                .map(Some)
                .ok_or_else(not_integer)
        }
        _ => Err(not_integer()),
    }
}

fn integral_float(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: beyond it a float is not an exact integer
    (f.is_finite() && f.fract() == 0.0 && f.abs() <= LIMIT).then_some(f as i64)
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            let shown: String = s.chars().take(40).collect();
            format!("the string {shown:?}")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// An id: positive integer; `0` and sentinels mean none.
fn id_value(value: &Value, path: &str) -> Parsed<Option<i64>> {
    match integer_value(value, path)? {
        Some(0) | None => Ok(None),
        Some(v) if v < 0 => Err(InvalidField::new(
            path,
            format!("expected a positive id, got {v}"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

fn id(map: &Map<String, Value>, path: &str, key: &str) -> Parsed<Field<i64>> {
    field(map, key, |v| id_value(v, &child(path, key)))
}

/// A count, cap or unix time: non-negative integer; `0` means none.
fn count(map: &Map<String, Value>, path: &str, key: &str) -> Parsed<Field<i64>> {
    field(map, key, |v| {
        let path = child(path, key);
        match integer_value(v, &path)? {
            Some(0) | None => Ok(None),
            Some(v) if v < 0 => Err(InvalidField::new(
                &path,
                format!("expected a non-negative integer, got {v}"),
            )),
            Some(v) => Ok(Some(v)),
        }
    })
}

fn text_value(value: &Value, path: &str) -> Parsed<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if is_sentinel(s) => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(InvalidField::new(
            path,
            format!("expected a string, got {}", describe(other)),
        )),
    }
}

fn text(map: &Map<String, Value>, path: &str, key: &str) -> Parsed<Field<String>> {
    field(map, key, |v| text_value(v, &child(path, key)))
}

fn field<T>(
    map: &Map<String, Value>,
    key: &str,
    read: impl FnOnce(&Value) -> Parsed<Option<T>>,
) -> Parsed<Field<T>> {
    match map.get(key) {
        None => Ok(Field::Absent),
        Some(v) => Ok(match read(v)? {
            Some(v) => Field::Value(v),
            None => Field::Null,
        }),
    }
}

/// An exact decimal: a JSON number (read from its shortest representation) or a numeric string.
fn decimal_value(value: &Value, path: &str) -> Parsed<Option<Decimal>> {
    let parse = |s: &str| {
        Decimal::from_str(s)
            .or_else(|_| Decimal::from_scientific(s))
            .map(|d| Some(d.normalize()))
            .map_err(|_| {
                InvalidField::new(
                    path,
                    format!("expected a decimal number, got {}", describe(value)),
                )
            })
    };
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => parse(&n.to_string()),
        Value::String(s) if is_sentinel(s) => Ok(None),
        Value::String(s) => parse(s.trim()),
        other => Err(InvalidField::new(
            path,
            format!("expected a decimal number, got {}", describe(other)),
        )),
    }
}

fn bool_value(value: &Value, path: &str) -> Parsed<Option<bool>> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Some(false)),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Some(true)),
        Value::String(s) if is_sentinel(s) => Ok(None),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Some(true)),
            "false" | "0" | "no" => Ok(Some(false)),
            _ => Err(InvalidField::new(
                path,
                format!("expected a boolean, got {}", describe(value)),
            )),
        },
        other => Err(InvalidField::new(
            path,
            format!("expected a boolean, got {}", describe(other)),
        )),
    }
}

/// An object member; `null` counts as absent.
fn object_member<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Parsed<Option<(&'a Map<String, Value>, String)>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some((o, child(path, key)))),
        Some(other) => Err(InvalidField::new(
            &child(path, key),
            format!("expected an object, got {}", describe(other)),
        )),
    }
}

/// The entries of a collection sent as `{total, <one of keys>}` or as a bare array.
fn entries<'a>(value: &'a Value, path: &str, keys: &[&str]) -> Parsed<(&'a [Value], String)> {
    match value {
        Value::Array(items) => Ok((items, path.to_owned())),
        Value::Object(map) => {
            for key in keys {
                match map.get(*key) {
                    None | Some(Value::Null) => continue,
                    Some(Value::Array(items)) => return Ok((items, child(path, key))),
                    Some(other) => {
                        return Err(InvalidField::new(
                            &child(path, key),
                            format!("expected an array, got {}", describe(other)),
                        ));
                    }
                }
            }
            // `{"total": 0}` and `{}` are an empty collection.
            Ok((&[], path.to_owned()))
        }
        other => Err(InvalidField::new(
            path,
            format!(
                "expected an array or an object with {}, got {}",
                keys.join(" or "),
                describe(other)
            ),
        )),
    }
}

fn party_member(
    rel: &Map<String, Value>,
    rel_path: &str,
    key: &str,
    id_key: &str,
) -> Parsed<Option<Party>> {
    let Some((map, path)) = object_member(rel, rel_path, key)? else {
        return Ok(None);
    };
    party(map, &path, id_key)
}

fn party(map: &Map<String, Value>, path: &str, id_key: &str) -> Parsed<Option<Party>> {
    let Some(id) = id(map, path, id_key)?.update().flatten() else {
        return Ok(None);
    };
    let status = text(map, path, "status")?.or(text(map, path, "account_status")?);
    Ok(Some(Party {
        id,
        network_id: id_value_opt(map, path, "network_id")?,
        name: text(map, path, "name")?.update().flatten(),
        status: status.update().flatten(),
    }))
}

fn id_value_opt(map: &Map<String, Value>, path: &str, key: &str) -> Parsed<Option<i64>> {
    Ok(id(map, path, key)?.update().flatten())
}

fn label_list(items: &[Value], path: &str) -> Parsed<Vec<String>> {
    let mut labels: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = index(path, i);
        let label = match item {
            Value::Object(map) => text(map, &item_path, "name")?
                .or(text(map, &item_path, "label")?)
                .update()
                .flatten(),
            other => text_value(other, &item_path)?,
        };
        if let Some(label) = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty())
            && !labels.contains(&label)
        {
            labels.push(label);
        }
    }
    labels.sort();
    Ok(labels)
}

fn top_level_labels(body: &Map<String, Value>) -> Parsed<Option<Vec<String>>> {
    match body.get("labels") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let (items, path) = entries(value, "/labels", &["entries", "label_entry_list"])?;
            label_list(items, &path).map(Some)
        }
    }
}

fn relationship_labels(rel: &Map<String, Value>, rel_path: &str) -> Parsed<Option<Vec<String>>> {
    match rel.get("labels") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let (items, path) = entries(
                value,
                &child(rel_path, "labels"),
                &["entries", "label_entry_list"],
            )?;
            label_list(items, &path).map(Some)
        }
    }
}

fn channels(rel: &Map<String, Value>, rel_path: &str) -> Parsed<Option<Vec<Party>>> {
    let Some(value) = rel.get("channels").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let (items, path) = entries(
        value,
        &child(rel_path, "channels"),
        &["entries", "channel_entities"],
    )?;
    let mut channels: Vec<Party> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = index(&path, i);
        let channel = match item {
            Value::Object(map) => party(map, &item_path, "network_channel_id")?,
            other => id_value(other, &item_path)?.map(Party::stub),
        };
        if let Some(channel) = channel {
            channels.retain(|c| c.id != channel.id);
            channels.push(channel);
        }
    }
    channels.sort_by_key(|c| c.id);
    Ok(Some(channels))
}

fn payout_list(value: &Value, path: &str) -> Parsed<Vec<PayoutEntry>> {
    let (items, path) = entries(value, path, &["entries", "payout_revenue_entities"])?;
    let mut payouts: Vec<PayoutEntry> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = index(&path, i);
        let Value::Object(map) = item else {
            return Err(InvalidField::new(
                &item_path,
                format!("expected a payout entry object, got {}", describe(item)),
            ));
        };
        let entry = payout_entry(map, &item_path)?;
        payouts
            .retain(|p| p.network_offer_payout_revenue_id != entry.network_offer_payout_revenue_id);
        payouts.push(entry);
    }
    payouts.sort_by_key(|p| p.network_offer_payout_revenue_id);
    Ok(payouts)
}

fn payout_entry(map: &Map<String, Value>, path: &str) -> Parsed<PayoutEntry> {
    let key = "network_offer_payout_revenue_id";
    let Some(id) = id(map, path, key)?.update().flatten() else {
        return Err(InvalidField::new(
            &child(path, key),
            "a payout entry needs a positive network_offer_payout_revenue_id",
        ));
    };
    let decimal = |keys: &[&str]| -> Parsed<Option<Decimal>> {
        match first_present(map, path, keys) {
            Some((v, p)) => decimal_value(v, &p),
            None => Ok(None),
        }
    };
    let boolean = |keys: &[&str]| -> Parsed<Option<bool>> {
        match first_present(map, path, keys) {
            Some((v, p)) => bool_value(v, &p),
            None => Ok(None),
        }
    };
    let string = |keys: &[&str]| -> Parsed<Option<String>> {
        match first_present(map, path, keys) {
            Some((v, p)) => text_value(v, &p),
            None => Ok(None),
        }
    };
    Ok(PayoutEntry {
        network_offer_payout_revenue_id: id,
        entry_name: string(&["entry_name"])?,
        is_default: boolean(&["is_default"])?.unwrap_or(false),
        payout_type: string(&["payout_type"])?,
        payout_amount: decimal(&["payout_amount", "payout_value"])?,
        payout_percentage: decimal(&["payout_percentage"])?,
        revenue_type: string(&["revenue_type"])?,
        revenue_amount: decimal(&["revenue_amount", "revenue_value"])?,
        revenue_percentage: decimal(&["revenue_percentage"])?,
        currency_id: string(&["payout_currency_id", "currency_id"])?
            .map(|c| c.to_ascii_uppercase()),
        is_private: boolean(&["is_private"])?,
        must_approve_conversion: boolean(&[
            "is_must_approve_conversion",
            "must_approve_conversion",
        ])?,
        allow_duplicate_conversion: boolean(&[
            "is_allow_duplicate_conversion",
            "allow_duplicate_conversion",
        ])?,
    })
}

/// Targeting, read per dimension; `null` or `{}` targeting says nothing.
fn targeting(rel: &Map<String, Value>, rel_path: &str, delivery: &mut OfferDelivery) -> Parsed<()> {
    let Some((targeting, path)) = first_present(rel, rel_path, &["targeting", "ruleset"]) else {
        return Ok(());
    };
    let Value::Object(targeting) = targeting else {
        return Err(InvalidField::new(
            &path,
            format!("expected a targeting object, got {}", describe(targeting)),
        ));
    };
    let countries = match first_present(targeting, &path, &["countries"]) {
        Some(found) => Some(found),
        None => match object_member(targeting, &path, "geo")? {
            Some((geo, geo_path)) => first_present(geo, &geo_path, &["countries"]),
            None => None,
        },
    };
    if let Some((value, path)) = countries {
        delivery.countries = Some(rules(value, &path, RuleKind::Country)?);
    }
    if let Some((value, path)) = first_present(targeting, &path, &["device_types"]) {
        delivery.device_types = Some(rules(value, &path, RuleKind::Label)?);
    }
    if let Some((value, path)) = first_present(targeting, &path, &["platforms"]) {
        delivery.platforms = Some(rules(value, &path, RuleKind::Label)?);
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum RuleKind {
    Country,
    Label,
}

fn rules(value: &Value, path: &str, kind: RuleKind) -> Parsed<Vec<Rule>> {
    let (items, path) = entries(value, path, &["entries"])?;
    let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_path = index(&path, i);
        let (raw, targeting_type) = match item {
            Value::Object(map) => {
                let value = match kind {
                    RuleKind::Country => {
                        text(map, &item_path, "country_code")?.or(text(map, &item_path, "code")?)
                    }
                    RuleKind::Label => {
                        text(map, &item_path, "label")?.or(text(map, &item_path, "name")?)
                    }
                };
                let targeting_type = text(map, &item_path, "targeting_type")?
                    .update()
                    .flatten()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .unwrap_or_else(|| "include".to_owned());
                (value.update().flatten(), targeting_type)
            }
            other => (text_value(other, &item_path)?, "include".to_owned()),
        };
        let Some(raw) = raw else { continue };
        let value = match kind {
            RuleKind::Country => country_code(&raw).ok_or_else(|| {
                let at = match item {
                    Value::Object(_) => child(&item_path, "country_code"),
                    _ => item_path.clone(),
                };
                InvalidField::new(
                    &at,
                    format!("expected an ISO 3166-1 alpha-2 country code, got {raw:?}"),
                )
            })?,
            RuleKind::Label => raw.trim().to_owned(),
        };
        let rule = Rule {
            value,
            targeting_type,
        };
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    rules.sort();
    Ok(rules)
}

/// An ISO 3166-1 alpha-2 shaped code, upper-cased.
pub fn country_code(raw: &str) -> Option<String> {
    let code = raw.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}
