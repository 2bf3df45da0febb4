//! Phone numbers as identities: normalised to E.164 so `+972 50-123-4567`,
//! `050-1234567` (with region IL) and `+972501234567` are one customer.

use phonenumber::country::Id;

/// `raw` in E.164 (`+972501234567`), or `None` when it is not a phone number. A number
/// without a country code is read in `default_region` (ISO 3166 alpha-2, e.g. `IL`, `PL`);
/// with no region such a number is refused rather than guessed.
pub fn normalize_phone(raw: &str, default_region: Option<&str>) -> Option<String> {
    // WhatsApp writes bidi marks and narrow spaces around numbers; the parser wants digits.
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().filter(char::is_ascii_digit).count() < 6 {
        return None;
    }
    // An international number ignores the region (the crate misreads `+972…` given PL).
    let region = match cleaned.starts_with('+') {
        true => None,
        false => default_region.and_then(|r| r.trim().to_ascii_uppercase().parse::<Id>().ok()),
    };
    let number = phonenumber::parse(region, cleaned).ok()?;
    // Possible, not "valid": the metadata's allocated ranges lag reality, and a number
    // that is merely unallocated in the metadata still identifies one person.
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    (8..=16).contains(&e164.len()).then_some(e164)
}

/// Whether `region` is an ISO 3166 alpha-2 code the phone metadata knows (`IL`, `pl`),
/// i.e. usable as `default_region`.
pub fn is_known_region(region: &str) -> bool {
    region.len() == 2 && region.trim().to_ascii_uppercase().parse::<Id>().is_ok()
}

/// Whether `text` looks like a phone number someone typed as a name (WhatsApp shows the
/// number when the author is not in the exporter's contacts): `+`, digits and separators.
pub fn looks_like_phone(text: &str) -> bool {
    let t = text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}')
    });
    t.starts_with('+')
        && t.chars().filter(char::is_ascii_digit).count() >= 7
        && t.chars().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    '+' | ' ' | '-' | '(' | ')' | '.' | '\u{00A0}' | '\u{202F}'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One number written three ways is one E.164 value.
    #[test]
    fn spellings_of_one_number_agree() {
        let want = Some("+972501234567".to_owned());
        assert_eq!(normalize_phone("+972 50-123-4567", None), want);
        assert_eq!(normalize_phone("050-1234567", Some("IL")), want);
        assert_eq!(
            normalize_phone("\u{200E}+972 50\u{00A0}123 4567\u{202C}", Some("PL")),
            want
        );
    }

    /// A national number without a region, and junk, are refused rather than guessed.
    #[test]
    fn refuses_what_it_cannot_prove() {
        assert_eq!(normalize_phone("050-1234567", None), None);
        assert_eq!(normalize_phone("call me", Some("IL")), None);
        assert_eq!(normalize_phone("+1 555", None), None);
        assert_eq!(normalize_phone("+48 123 456 789 123 456 789", None), None);
    }

    /// Real two-letter regions are known, in any case; anything else is not.
    #[test]
    fn known_regions() {
        assert!(is_known_region("IL") && is_known_region("pl"));
        assert!(!is_known_region("XX") && !is_known_region("ISR") && !is_known_region(""));
    }

    #[test]
    fn recognises_numbers_used_as_names() {
        assert!(looks_like_phone("+972 50-123-4567"));
        assert!(looks_like_phone("\u{200E}+48 601 234 567"));
        assert!(!looks_like_phone("Anna +48"));
        assert!(!looks_like_phone("2020"));
    }
}
