//! Timestamps as the outside world sees them: RFC 3339 in UTC.

use shopdesk_core::Millis;

/// `1700000000000` -> `"2023-11-14T22:13:20Z"`; out-of-range values print as the raw number.
pub fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// Serde helper: a [`Millis`] field written as RFC 3339.
pub fn ser_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

/// Serde helper: an optional [`Millis`] field written as RFC 3339 or null.
pub fn ser_opt_rfc3339<S: serde::Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&rfc3339(*ms)),
        None => s.serialize_none(),
    }
}
