//! Parsed, validated types. Handlers turn untrusted JSON into these through
//! `TryFrom`; past that line nothing sees a raw string from a beacon.

mod beacon;
mod route;
mod site_key;
mod user_agent;

pub use beacon::{Beacon, BeaconError, Metric, NavigationType, parse_beacon};
pub use route::{OVERFLOW_ROUTE, RouteRegistry, normalise_route};
pub use site_key::SiteKey;
pub use user_agent::{ClientInfo, FormFactor, classify_user_agent};
