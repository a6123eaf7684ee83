//! A deterministic synthetic catalog shaped like `tests/api/fixtures/*.json`:
//! offer `i` is generated from its own seeded RNG, so the same options always
//! give the same bodies. About 240 country codes with include/exclude rules,
//! 50 categories, 200 labels, 20 channels, 1–5 payouts per offer, and the
//! payload variants of SPEC §3.2 in a minority of deliveries.
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value, json};

const SEED: u64 = 0x0FFE_2CA7_A10C;

/// The first offer id; ids are `FIRST_OFFER_ID..FIRST_OFFER_ID + offers`.
pub const FIRST_OFFER_ID: i64 = 100_001;
/// `time_saved` of the newest created offer is below this; updates count up from it.
const UPDATES_START: i64 = 1_800_000_000;

/// ISO 3166-1 alpha-2 codes (the 240 the networks' geo pickers list).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Markets that most offers target.
const BIG_MARKETS: [&str; 12] = [
    "US", "GB", "CA", "AU", "DE", "FR", "NL", "SE", "IT", "ES", "BR", "MX",
];

const CATEGORIES: [&str; 50] = [
    "Finance",
    "E-Commerce",
    "Insurance",
    "Dating",
    "Gaming",
    "Health & Beauty",
    "Nutra",
    "Sweepstakes",
    "Crypto",
    "VPN & Security",
    "Travel",
    "Education",
    "Real Estate",
    "Automotive",
    "Home Services",
    "Legal",
    "Solar",
    "Mobile Apps",
    "Utilities",
    "Streaming",
    "Food Delivery",
    "Fashion",
    "Pets",
    "Fitness",
    "Software",
    "B2B Lead Gen",
    "Surveys",
    "Coupons",
    "Cashback",
    "Loans",
    "Credit Cards",
    "Mortgage",
    "Debt Relief",
    "Tax Services",
    "Jobs",
    "Casino",
    "Sports Betting",
    "Lottery",
    "Subscription Boxes",
    "Telecom",
    "Web Hosting",
    "Antivirus",
    "Dating Apps",
    "Adult Education",
    "Home Security",
    "Medicare",
    "Senior Living",
    "Charity",
    "Photography",
    "Events & Tickets",
];

const LABEL_STEMS: [&str; 20] = [
    "finance",
    "insurance",
    "dating",
    "gaming",
    "health",
    "nutra",
    "sweeps",
    "crypto",
    "vpn",
    "travel",
    "ecom",
    "leadgen",
    "mobile",
    "desktop",
    "install",
    "trial",
    "subscription",
    "cpl",
    "cps",
    "evergreen",
];
const LABEL_QUALIFIERS: [&str; 10] = [
    "",
    "-us-only",
    "-eu",
    "-tier1",
    "-incent",
    "-non-incent",
    "-top-performer",
    "-new",
    "-exclusive",
    "-seasonal",
];

const CHANNELS: [&str; 20] = [
    "Email Marketing",
    "Web",
    "Social",
    "Search",
    "Native",
    "Push Notifications",
    "Pop Traffic",
    "Display",
    "Influencer",
    "Mobile App",
    "SMS",
    "Coupon Sites",
    "Cashback Portals",
    "Content Sites",
    "Video",
    "Contextual",
    "Retargeting",
    "Sub-Networks",
    "Loyalty",
    "Comparison Sites",
];

const BRANDS: [&str; 24] = [
    "Brightwave",
    "NordPeak",
    "Lumora",
    "Cashly",
    "Fitloop",
    "QuickQuote",
    "Vantage",
    "Zenbox",
    "Harborline",
    "PixelForge",
    "SunCrest",
    "TrueNorth",
    "Kindred",
    "BluePine",
    "Starling",
    "Orbitly",
    "Maple & Co",
    "Everglow",
    "Ironclad",
    "Swiftpay",
    "Nimbus",
    "Crescent",
    "Goldleaf",
    "Verity",
];
const PRODUCTS: [&str; 16] = [
    "Free Trial",
    "Premium Subscription",
    "Instant Quote",
    "Sign Up",
    "First Deposit",
    "App Install",
    "Lead Form",
    "Starter Kit",
    "Annual Plan",
    "Credit Check",
    "Sweepstakes Entry",
    "Newsletter",
    "Checkout",
    "Demo Request",
    "Gift Card",
    "Consultation",
];
const WORDS: [&str; 24] = [
    "partners",
    "traffic",
    "must",
    "follow",
    "the",
    "brand",
    "guidelines",
    "no",
    "incentivized",
    "clicks",
    "conversions",
    "are",
    "validated",
    "within",
    "days",
    "creative",
    "approval",
    "required",
    "before",
    "launch",
    "payout",
    "per",
    "qualified",
    "lead",
];
const DEVICE_TYPES: [&str; 3] = ["Mobile", "Desktop", "Tablet"];
const PLATFORMS: [&str; 5] = ["iOS", "Android", "Windows", "macOS", "Linux"];

/// Which of SPEC §3.2's payload variants an offer is sent in.
#[derive(Clone, Copy)]
enum Variant {
    /// The network API's `Find Offer By ID` shape (`offer-api-shape.json`).
    ApiShape,
    /// `offer-seed-example.json`: `label_entry_list`, `channel_entities`,
    /// `payout_revenue_entities`, `geo.countries`, plain strings.
    SeedShape,
    /// The odd ones: `ruleset`, bare arrays under `relationship.payouts`,
    /// numbers as strings, integral floats, lower-case country codes.
    Loose,
}

/// One offer's normalized content, from which its bodies are written.
#[derive(Clone)]
struct Offer {
    id: i64,
    variant: Variant,
    name: String,
    advertiser_id: i64,
    category: usize,
    status: &'static str,
    visibility: &'static str,
    currency: &'static str,
    destination_url: String,
    preview_url: String,
    description: String,
    daily_cap: i64,
    monthly_cap: i64,
    labels: Vec<String>,
    channels: Vec<usize>,
    payouts: Vec<Payout>,
    include: Vec<&'static str>,
    exclude: Vec<&'static str>,
    device_types: Vec<&'static str>,
    platforms: Vec<&'static str>,
    time_created: i64,
    time_saved: i64,
}

#[derive(Clone)]
struct Payout {
    id: i64,
    name: String,
    payout_type: &'static str,
    payout_cents: i64,
    revenue_cents: i64,
    percentage: Option<i64>,
}

/// The deterministic corpus: `offers` new offers and `updates` updates.
pub struct Corpus {
    pub offers: usize,
    pub updates: usize,
}

impl Corpus {
    /// The body creating offer number `i`.
    pub fn created(&self, i: usize) -> Vec<u8> {
        serde_json::to_vec(&offer(i).to_json()).expect("a JSON value serializes")
    }

    /// The body of update number `k`: a random offer with `time_saved` bumped
    /// past everything before it and one or two fields changed.
    pub fn updated(&self, k: usize) -> Vec<u8> {
        let mut rng = StdRng::seed_from_u64(SEED ^ 0x5EED_0000_0000 ^ k as u64);
        let mut offer = offer(rng.random_range(0..self.offers));
        offer.time_saved = UPDATES_START + k as i64;
        for _ in 0..rng.random_range(1..=2) {
            mutate(&mut offer, &mut rng, k);
        }
        serde_json::to_vec(&offer.to_json()).expect("a JSON value serializes")
    }

    /// All ids of the catalog's offers.
    pub fn offer_id(i: usize) -> i64 {
        FIRST_OFFER_ID + i as i64
    }
}

/// The number of categories; category ids are `1..=CATEGORY_COUNT`.
pub const CATEGORY_COUNT: i64 = CATEGORIES.len() as i64;

/// Label `n` of the 200.
pub fn label(n: usize) -> String {
    format!(
        "{}{}",
        LABEL_STEMS[n % LABEL_STEMS.len()],
        LABEL_QUALIFIERS[(n / LABEL_STEMS.len()) % LABEL_QUALIFIERS.len()]
    )
}

/// The number of distinct labels.
pub const LABEL_COUNT: usize = LABEL_STEMS.len() * LABEL_QUALIFIERS.len();

fn countries() -> Vec<&'static str> {
    COUNTRIES.split_whitespace().collect()
}

fn offer(i: usize) -> Offer {
    let mut rng = StdRng::seed_from_u64(SEED.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
    let id = Corpus::offer_id(i);
    let variant = match rng.random_range(0..100) {
        0..70 => Variant::ApiShape,
        70..88 => Variant::SeedShape,
        _ => Variant::Loose,
    };
    let brand = *BRANDS.choose(&mut rng).expect("non-empty");
    let product = *PRODUCTS.choose(&mut rng).expect("non-empty");
    let all_countries = countries();

    // Geo: a fifth untargeted, most including a few markets, some excluding.
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    let geo = rng.random_range(0..100);
    if geo >= 20 {
        if geo < 85 {
            let markets = rng.random_range(1..=4);
            include.extend(BIG_MARKETS.choose_multiple(&mut rng, markets).copied());
            let others = rng.random_range(0..=20);
            include.extend(all_countries.choose_multiple(&mut rng, others).copied());
        }
        if geo >= 70 {
            let n = rng.random_range(1..=8);
            exclude.extend(all_countries.choose_multiple(&mut rng, n).copied());
        }
    }
    include.sort_unstable();
    include.dedup();
    exclude.sort_unstable();
    exclude.dedup();
    // A SeedShape offer sends plain codes, which can only include.
    let variant = if matches!(variant, Variant::SeedShape) && !exclude.is_empty() {
        Variant::ApiShape
    } else {
        variant
    };
    let geo_tag = include
        .iter()
        .take(3)
        .copied()
        .collect::<Vec<_>>()
        .join("/");

    let payout_count = rng.random_range(1..=5);
    let payouts = (0..payout_count)
        .map(|k| {
            let payout_type = *["cpa", "cpl", "cps", "cpa_cps", "cpc"]
                .choose(&mut rng)
                .expect("non-empty");
            let payout_cents = rng.random_range(50..15_000);
            Payout {
                id: id * 8 + k as i64,
                name: if k == 0 {
                    String::new()
                } else {
                    format!("{} {}", ["Upsell", "Tier", "Bonus", "Rebill"][k % 4], k)
                },
                payout_type,
                payout_cents,
                revenue_cents: payout_cents + rng.random_range(10..5_000),
                percentage: payout_type.contains("cps").then(|| rng.random_range(5..40)),
            }
        })
        .collect();

    let label_count = [0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6]
        .choose(&mut rng)
        .copied()
        .unwrap_or(2);
    let mut labels: Vec<String> = (0..label_count)
        .map(|_| label(rng.random_range(0..LABEL_COUNT)))
        .collect();
    labels.sort();
    labels.dedup();
    let channel_count = rng.random_range(0..=3);
    let mut channels: Vec<usize> = (0..channel_count)
        .map(|_| rng.random_range(0..CHANNELS.len()))
        .collect();
    channels.sort_unstable();
    channels.dedup();

    let description_words = rng.random_range(15..120);
    let description = (0..description_words)
        .map(|_| *WORDS.choose(&mut rng).expect("non-empty"))
        .collect::<Vec<_>>()
        .join(" ");
    let slug = format!("{}-{}", brand, product)
        .to_ascii_lowercase()
        .replace([' ', '&'], "-");
    let time_created = 1_650_000_000 + rng.random_range(0..60_000_000);
    Offer {
        id,
        variant,
        name: format!(
            "{brand} {product} - {} - {}",
            if geo_tag.is_empty() { "WW" } else { &geo_tag },
            ["CPA", "CPL", "CPS", "SOI", "DOI", "CPI"][rng.random_range(0..6)]
        ),
        advertiser_id: rng.random_range(1..=1_000),
        category: rng.random_range(0..CATEGORIES.len()),
        status: match rng.random_range(0..100) {
            0..85 => "active",
            85..93 => "paused",
            93..98 => "pending",
            _ => "deleted",
        },
        visibility: ["public", "require_approval", "require_approval", "private"]
            [rng.random_range(0..4)],
        currency: [
            "USD", "USD", "USD", "USD", "USD", "USD", "USD", "USD", "EUR", "GBP",
        ][rng.random_range(0..10)],
        destination_url: format!(
            "https://{}.example.com/lp/{slug}/{}?aff_id={{affiliate_id}}&tid={{transaction_id}}&sub1={{sub1}}&oid={id}",
            brand.to_ascii_lowercase().replace([' ', '&'], ""),
            rng.random_range(1..40),
        ),
        preview_url: format!(
            "https://{}.example.com/preview/{slug}",
            brand.to_ascii_lowercase().replace([' ', '&'], "")
        ),
        description,
        daily_cap: [0, 0, 50, 100, 250, 500, 1_000][rng.random_range(0..7)],
        monthly_cap: [0, 0, 0, 5_000, 10_000][rng.random_range(0..5)],
        labels,
        channels,
        payouts,
        include,
        exclude,
        device_types: {
            let n = rng.random_range(0..=2);
            let mut d: Vec<_> = DEVICE_TYPES.choose_multiple(&mut rng, n).copied().collect();
            d.sort_unstable();
            d
        },
        platforms: {
            let n = rng.random_range(0..=3);
            let mut p: Vec<_> = PLATFORMS.choose_multiple(&mut rng, n).copied().collect();
            p.sort_unstable();
            p
        },
        time_created,
        time_saved: time_created + rng.random_range(0..5_000_000),
    }
}

/// Changes one thing an Everflow user would edit.
fn mutate(offer: &mut Offer, rng: &mut StdRng, k: usize) {
    match rng.random_range(0..7) {
        0 => offer.name = format!("{} (v{k})", offer.name),
        1 => {
            if let Some(p) = offer.payouts.first_mut() {
                p.payout_cents = rng.random_range(50..15_000);
            }
        }
        2 => {
            let extra = *countries().choose(rng).expect("non-empty");
            if !offer.include.is_empty() && !offer.include.contains(&extra) {
                offer.include.push(extra);
                offer.include.sort_unstable();
            } else {
                offer.include.retain(|c| *c != extra);
            }
        }
        3 => {
            offer.labels.push(label(rng.random_range(0..LABEL_COUNT)));
            offer.labels.sort();
            offer.labels.dedup();
        }
        4 => offer.daily_cap = rng.random_range(1..5_000),
        5 => {
            offer.status = if offer.status == "active" {
                "paused"
            } else {
                "active"
            }
        }
        _ => offer.destination_url = format!("{}&v={k}", offer.destination_url),
    }
}

impl Offer {
    fn to_json(&self) -> Value {
        match self.variant {
            Variant::ApiShape => self.api_shape(),
            Variant::SeedShape => self.seed_shape(),
            Variant::Loose => self.loose(),
        }
    }

    fn category_json(&self) -> Value {
        json!({
            "network_category_id": self.category + 1,
            "network_id": 1,
            "name": CATEGORIES[self.category],
            "status": "active",
            "time_created": 1_582_295_424,
            "time_saved": 1_582_295_424
        })
    }

    fn advertiser_json(&self) -> Value {
        json!({
            "network_advertiser_id": self.advertiser_id,
            "network_id": 1,
            "name": format!("{} {}", BRANDS[self.advertiser_id as usize % BRANDS.len()],
                ["Inc.", "LLC", "Ltd", "GmbH", "Media", "Digital"][self.advertiser_id as usize % 6]),
            "account_status": "active"
        })
    }

    fn channel_json(&self, c: usize) -> Value {
        json!({
            "network_channel_id": c + 1,
            "network_id": 1,
            "name": CHANNELS[c],
            "status": "active",
            "time_created": 1_600_000_000,
            "time_saved": 1_600_000_000
        })
    }

    fn thumbnail(&self) -> String {
        format!(
            "https://assets.efusercontent.com/1/offers/{}/thumb/{}.png",
            self.id, self.id
        )
    }

    fn country_rules(&self, lower_case: bool) -> Vec<Value> {
        let rule = |code: &str, targeting_type: &str| {
            json!({
                "network_id": 1,
                "network_targeting_country_id": 0,
                "country_id": 0,
                "label": code,
                "country_code": if lower_case { code.to_ascii_lowercase() } else { code.to_owned() },
                "targeting_type": targeting_type,
                "match_type": "exact"
            })
        };
        self.include
            .iter()
            .map(|c| rule(c, "include"))
            .chain(self.exclude.iter().map(|c| rule(c, "exclude")))
            .collect()
    }

    fn named_rules(names: &[&str]) -> Vec<Value> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({ "id": i + 1, "label": name, "targeting_type": "include", "match_type": "exact" })
            })
            .collect()
    }

    fn api_shape(&self) -> Value {
        let payouts: Vec<Value> = self
            .payouts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                json!({
                    "network_offer_payout_revenue_id": p.id,
                    "network_id": 1,
                    "network_offer_id": self.id,
                    "entry_name": p.name,
                    "payout_type": p.payout_type,
                    "payout_amount": p.payout_cents as f64 / 100.0,
                    "payout_percentage": p.percentage.unwrap_or(0),
                    "revenue_type": p.payout_type.replace("cp", "rp"),
                    "revenue_amount": p.revenue_cents as f64 / 100.0,
                    "revenue_percentage": p.percentage.map_or(0, |x| x + 5),
                    "is_default": k == 0,
                    "is_private": k > 2,
                    "is_postback_disabled": false,
                    "is_enforce_caps": false,
                    "is_must_approve_conversion": k % 2 == 1,
                    "is_allow_duplicate_conversion": k == 0,
                    "is_email_attribution_default_event": false,
                    "global_advertiser_event_id": 0,
                    "time_created": self.time_created
                })
            })
            .collect();
        json!({
            "network_offer_id": self.id,
            "network_id": 1,
            "network_advertiser_id": self.advertiser_id,
            "network_offer_group_id": 0,
            "name": self.name,
            "thumbnail_url": self.thumbnail(),
            "network_category_id": self.category + 1,
            "internal_notes": format!("Account manager notes for offer {}", self.id),
            "destination_url": self.destination_url,
            "server_side_url": "",
            "is_view_through_enabled": false,
            "view_through_destination_url": "",
            "preview_url": self.preview_url,
            "offer_status": self.status,
            "currency_id": self.currency,
            "caps_timezone_id": 80,
            "project_id": "",
            "date_live_until": "",
            "html_description": format!("<div><p>{}</p></div>", self.description),
            "is_description_plain_text": false,
            "is_caps_enabled": self.daily_cap > 0 || self.monthly_cap > 0,
            "daily_conversion_cap": self.daily_cap,
            "weekly_conversion_cap": 0,
            "monthly_conversion_cap": self.monthly_cap,
            "global_conversion_cap": 0,
            "daily_payout_cap": 0,
            "weekly_payout_cap": 0,
            "monthly_payout_cap": 0,
            "global_payout_cap": 0,
            "daily_revenue_cap": 0,
            "weekly_revenue_cap": 0,
            "monthly_revenue_cap": 0,
            "global_revenue_cap": 0,
            "daily_click_cap": 0,
            "weekly_click_cap": 0,
            "monthly_click_cap": 0,
            "global_click_cap": 0,
            "redirect_mode": "standard",
            "conversion_method": "server_postback",
            "session_definition": "cookie",
            "session_duration": 24,
            "attribution_method": "last_touch",
            "duplicate_filter_targeting_action": "unknown",
            "network_tracking_domain_id": 1,
            "visibility": self.visibility,
            "app_identifier": "",
            "labels": self.labels,
            "time_created": self.time_created,
            "time_saved": self.time_saved,
            "relationship": {
                "category": self.category_json(),
                "labels": { "total": self.labels.len(), "entries": self.labels },
                "channels": {
                    "total": self.channels.len(),
                    "entries": self.channels.iter().map(|c| self.channel_json(*c)).collect::<Vec<_>>()
                },
                "payout_revenue": { "total": payouts.len(), "entries": payouts },
                "thumbnail_asset": {
                    "network_asset_id": self.id,
                    "content_type": "image/png",
                    "filename": format!("{}.png", self.id),
                    "url": self.thumbnail(),
                    "file_size": 5287,
                    "image_width": 400,
                    "image_height": 400
                },
                "advertiser": self.advertiser_json(),
                "targeting": {
                    "network_id": 1,
                    "network_ruleset_id": self.id,
                    "time_created": self.time_created,
                    "time_saved": self.time_created,
                    "platforms": Self::named_rules(&self.platforms),
                    "device_types": Self::named_rules(&self.device_types),
                    "os_versions": [],
                    "browsers": [],
                    "languages": [],
                    "brands": [],
                    "countries": self.country_rules(false),
                    "regions": [],
                    "cities": [],
                    "dmas": [],
                    "postal_codes": [],
                    "mobile_carriers": [],
                    "isps": [],
                    "connection_types": [],
                    "ips": [],
                    "is_block_proxy": false,
                    "is_use_day_parting": false,
                    "day_parting_apply_to": "null_value",
                    "day_parting_timezone_id": 0,
                    "days_parting": []
                }
            }
        })
    }

    fn seed_shape(&self) -> Value {
        let payouts: Vec<Value> = self
            .payouts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                json!({
                    "network_offer_payout_revenue_id": p.id,
                    "event_type": if k == 0 { "conversion" } else { "upsell" },
                    "entry_name": p.name,
                    "payout_type": p.payout_type,
                    "payout_value": p.payout_cents as f64 / 100.0,
                    "payout_percentage": p.percentage,
                    "payout_currency_id": self.currency,
                    "revenue_type": p.payout_type.replace("cp", "rp"),
                    "revenue_value": p.revenue_cents as f64 / 100.0,
                    "is_default": k == 0,
                    "must_approve_conversion": k % 2 == 1,
                    "allow_duplicate_conversion": false
                })
            })
            .collect();
        json!({
            "network_offer_id": self.id,
            "network_id": 1,
            "network_advertiser_id": self.advertiser_id,
            "network_category_id": self.category + 1,
            "name": self.name,
            "offer_status": self.status,
            "currency_id": self.currency,
            "destination_url": self.destination_url,
            "preview_url": self.preview_url,
            "visibility": self.visibility,
            "daily_conversion_cap": self.daily_cap,
            "weekly_conversion_cap": 0,
            "monthly_conversion_cap": self.monthly_cap,
            "global_conversion_cap": 0,
            "time_created": self.time_created,
            "time_saved": self.time_saved,
            "relationship": {
                "labels": { "total": self.labels.len(), "label_entry_list": self.labels },
                "category": { "network_category_id": self.category + 1, "name": CATEGORIES[self.category] },
                "channels": {
                    "total": self.channels.len(),
                    "channel_entities": self.channels.iter()
                        .map(|c| json!({ "network_channel_id": c + 1, "name": CHANNELS[*c] }))
                        .collect::<Vec<_>>()
                },
                "payout_revenue": { "total": payouts.len(), "payout_revenue_entities": payouts },
                "advertiser": self.advertiser_json(),
                "targeting": {
                    "geo": { "countries": self.include },
                    "device_types": self.device_types.iter().map(|d| d.to_ascii_lowercase()).collect::<Vec<_>>(),
                    "platforms": self.platforms.iter().map(|p| p.to_ascii_lowercase()).collect::<Vec<_>>()
                }
            }
        })
    }

    fn loose(&self) -> Value {
        let payouts: Vec<Value> = self
            .payouts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                json!({
                    "network_offer_payout_revenue_id": format!("{}", p.id),
                    "entry_name": if p.name.is_empty() { Value::Null } else { json!(p.name) },
                    "payout_type": p.payout_type,
                    "payout_amount": format!("{}.{:02}", p.payout_cents / 100, p.payout_cents % 100),
                    "payout_percentage": p.percentage.map(|x| x.to_string()),
                    "revenue_type": p.payout_type.replace("cp", "rp"),
                    "revenue_amount": format!("{}.{:02}", p.revenue_cents / 100, p.revenue_cents % 100),
                    "is_default": k == 0,
                    "is_must_approve_conversion": false,
                    "is_allow_duplicate_conversion": true
                })
            })
            .collect();
        json!({
            "network_offer_id": self.id as f64,
            "network_id": "1",
            "network_advertiser_id": format!("{}", self.advertiser_id),
            "network_category_id": (self.category + 1) as f64,
            "name": self.name,
            "thumbnail_url": self.thumbnail(),
            "offer_status": self.status,
            "currency_id": self.currency,
            "destination_url": self.destination_url,
            "preview_url": if self.id % 2 == 0 { json!("") } else { json!(self.preview_url) },
            "visibility": self.visibility,
            "daily_conversion_cap": self.daily_cap.to_string(),
            "weekly_conversion_cap": "0",
            "monthly_conversion_cap": self.monthly_cap as f64,
            "global_conversion_cap": 0,
            "labels": self.labels,
            "time_created": self.time_created,
            "time_saved": self.time_saved.to_string(),
            "relationship": {
                "channels": self.channels.iter().map(|c| self.channel_json(*c)).collect::<Vec<_>>(),
                "payouts": payouts,
                "advertiser": self.advertiser_json(),
                "category": self.category_json(),
                "ruleset": {
                    "countries": self.country_rules(true),
                    "device_types": self.device_types,
                    "platforms": Self::named_rules(&self.platforms)
                }
            }
        })
    }
}
