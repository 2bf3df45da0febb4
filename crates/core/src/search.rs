//! The search box's language: free words (full-text) plus operators, as a shop owner
//! types them: `from:anna`, `channel:whatsapp`, `status:open`, `tag:vip`,
//! `before:2026-11-01`, `after:2026-10-01`. Values with spaces are quoted:
//! `from:"Anna Kowalska"`. Operator names are case-insensitive; a word with a colon that
//! is no operator (`10:30`, `re:`) stays a search word. Dates are local days in the zone
//! passed in: `after:` includes its day, `before:` excludes it (as mail clients do).

use crate::{Channel, Millis, Status};
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// A parsed search box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// The free words, for full-text search (may be empty: operators alone list messages).
    pub words: String,
    /// Author, customer name or one of the customer's addresses/numbers contains this.
    pub from: Option<String>,
    pub channel: Option<Channel>,
    pub status: Option<Status>,
    pub tag: Option<String>,
    /// Messages sent before this instant (exclusive).
    pub before: Option<Millis>,
    /// Messages sent at or after this instant.
    pub after: Option<Millis>,
}

impl SearchQuery {
    /// Nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.words.trim().is_empty()
            && self.from.is_none()
            && self.channel.is_none()
            && self.status.is_none()
            && self.tag.is_none()
            && self.before.is_none()
            && self.after.is_none()
    }
}

/// Why a search box could not be read; the message names the operator and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("channel:{0} is not a channel; use email, whatsapp, messenger, instagram or telegram")]
    Channel(String),
    #[error("status:{0} is not a status; use open, pending, snoozed or closed")]
    Status(String),
    #[error("{op}:{value} is not a date; write it as 2026-11-30")]
    Date { op: &'static str, value: String },
    #[error("{0}: needs a value, e.g. {0}:something")]
    Empty(&'static str),
}

/// Splits on whitespace, keeping `"…"` together (the quotes are dropped).
fn tokens(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn local_day_start(op: &'static str, value: &str, tz: &TimeZone) -> Result<Millis, SearchQueryError> {
    let bad = || SearchQueryError::Date { op, value: value.to_owned() };
    let date: Date = value.parse().map_err(|_| bad())?;
    let start = date.to_zoned(tz.clone()).map_err(|_| bad())?;
    Ok(start.timestamp().as_millisecond())
}

/// Reads the search box. Local dates are read in `tz`.
pub fn parse_search(input: &str, tz: &TimeZone) -> Result<SearchQuery, SearchQueryError> {
    let mut query = SearchQuery::default();
    let mut words: Vec<String> = Vec::new();
    for token in tokens(input) {
        let Some((op, value)) = token.split_once(':') else {
            words.push(token);
            continue;
        };
        let op = op.to_ascii_lowercase();
        let known: Option<&'static str> = match op.as_str() {
            "from" => Some("from"),
            "channel" => Some("channel"),
            "status" => Some("status"),
            "tag" => Some("tag"),
            "before" => Some("before"),
            "after" => Some("after"),
            _ => None,
        };
        let Some(op) = known else {
            words.push(token);
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(SearchQueryError::Empty(op));
        }
        match op {
            "from" => query.from = Some(value.to_owned()),
            "tag" => query.tag = Some(value.to_owned()),
            "channel" => {
                query.channel = Some(value.to_ascii_lowercase().parse().map_err(|_| SearchQueryError::Channel(value.to_owned()))?);
            }
            "status" => {
                query.status = Some(value.to_ascii_lowercase().parse().map_err(|_| SearchQueryError::Status(value.to_owned()))?);
            }
            "before" => query.before = Some(local_day_start("before", value, tz)?),
            _ => query.after = Some(local_day_start("after", value, tz)?),
        }
    }
    query.words = words.join(" ");
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    /// Operators are taken out of the words; what remains is the full-text part.
    #[test]
    fn operators_and_words_are_separated() {
        let q = parse_search("from:anna כחול channel:WhatsApp status:open tag:vip shoes", &utc()).expect("parses");
        assert_eq!(q.words, "כחול shoes");
        assert_eq!(q.from.as_deref(), Some("anna"));
        assert_eq!(q.channel, Some(Channel::Whatsapp));
        assert_eq!(q.status, Some(Status::Open));
        assert_eq!(q.tag.as_deref(), Some("vip"));
    }

    /// A quoted value keeps its spaces; a colon in an ordinary word is no operator.
    #[test]
    fn quotes_and_plain_colons() {
        let q = parse_search("from:\"Anna Kowalska\" at 10:30 re:", &utc()).expect("parses");
        assert_eq!(q.from.as_deref(), Some("Anna Kowalska"));
        assert_eq!(q.words, "at 10:30 re:");
    }

    /// after: includes its local day, before: excludes it, both in the zone given.
    #[test]
    fn dates_are_local_day_starts() {
        let tz = TimeZone::get("Asia/Jerusalem").expect("zone");
        let q = parse_search("after:2026-11-01 before:2026-11-30", &tz).expect("parses");
        // Midnight in Jerusalem (UTC+2 in November) is 22:00 UTC the day before.
        assert_eq!(q.after, Some(1_793_484_000_000));
        assert_eq!(q.before, Some(1_795_989_600_000));
        assert!(q.words.is_empty());
    }

    /// Bad values are errors naming the operator, never silently ignored.
    #[test]
    fn bad_values_are_named() {
        assert_eq!(parse_search("channel:fax", &utc()), Err(SearchQueryError::Channel("fax".into())));
        assert_eq!(parse_search("status:done", &utc()), Err(SearchQueryError::Status("done".into())));
        assert!(matches!(parse_search("before:yesterday", &utc()), Err(SearchQueryError::Date { op: "before", .. })));
        assert_eq!(parse_search("tag:", &utc()), Err(SearchQueryError::Empty("tag")));
        assert!(parse_search("   ", &utc()).expect("parses").is_empty());
    }
}
