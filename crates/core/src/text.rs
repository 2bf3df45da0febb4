//! Text folding for search and snippets.
//!
//! SQLite's unicode61 tokenizer treats Hebrew points (niqqud) and Arabic vowel marks
//! (harakat) as word breaks and keeps Polish ł, so a pointed "שָׁלוֹם" would never match a
//! typed "שלום", nor "zolty" match "żółty". [`fold`] removes every combining mark after
//! canonical decomposition and unifies letters people type interchangeably. The same
//! function runs on indexed text (an SQL function called by the FTS triggers) and on
//! queries, so both sides always agree.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Folds `text` for the full-text index; see the module docs for what changes.
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    // Each character's canonical decomposition without its marks. This equals
    // "NFD, then drop the marks": canonical reordering only moves characters with a
    // non-zero combining class, and those are all marks, which are dropped anyway. Done
    // per character, without NFD's reordering buffer (the index folds every message of
    // a bulk import).
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        decompose_canonical(c, |d| {
            // U+0640: Arabic tatweel (a stretching stroke, not a letter).
            if !is_combining_mark(d) && d != '\u{0640}' {
                out.push(match d {
                    // Arabic alef wasla -> bare alef; alef maqsura -> ya.
                    'ٱ' => 'ا',
                    'ى' => 'ي',
                    'ł' => 'l',
                    'Ł' => 'L',
                    _ => d,
                });
            }
        });
    }
    out
}

/// Turns what a user typed into an FTS5 query that cannot be a syntax error: each word
/// becomes a quoted phrase (so `-`, `:` or quotes in it are literal), all words must
/// match, and the last one matches as a prefix so results come as you type. Returns
/// `None` when nothing searchable is left.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = fold(input)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    let last = words.len().checked_sub(1)?;
    let mut query = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            query.push(' ');
        }
        query.push_str(w);
        if i == last {
            query.push('*');
        }
    }
    Some(query)
}

/// A short excerpt of `text` around the first place any of `terms` matches (compared
/// folded and lower-cased), at most about `max_chars` characters, with `…` where cut.
/// Without a match it is the start of the text. Whitespace runs collapse to one space.
pub fn snippet(text: &str, terms: &[String], max_chars: usize) -> String {
    let flat: Vec<char> = collapse_whitespace(text).chars().collect();
    // Folded, lower-cased text with, for each of its chars, the index in `flat` it came
    // from (folding can drop marks, so the two do not line up one to one).
    let mut folded = Vec::with_capacity(flat.len());
    let mut origin = Vec::with_capacity(flat.len());
    for (i, c) in flat.iter().enumerate() {
        for f in fold(&c.to_lowercase().collect::<String>()).chars() {
            folded.push(f);
            origin.push(i);
        }
    }
    let hit = terms
        .iter()
        .map(|t| fold(&t.to_lowercase()).chars().collect::<Vec<char>>())
        .filter(|t| !t.is_empty())
        .filter_map(|t| folded.windows(t.len()).position(|w| w == t.as_slice()))
        .min()
        .and_then(|at| origin.get(at).copied())
        .unwrap_or(0);
    let start = hit.saturating_sub(max_chars / 3);
    let end = (start + max_chars).min(flat.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&flat[start..end]);
    if end < flat.len() {
        out.push('…');
    }
    out
}

/// The beginning of `text` on one line, for inbox rows.
pub fn preview(text: &str, max_chars: usize) -> String {
    snippet(text, &[], max_chars)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pointed Hebrew and voweled Arabic fold to what people type.
    #[test]
    fn fold_removes_hebrew_points_and_arabic_harakat() {
        assert_eq!(fold("שָׁלוֹם"), "שלום");
        assert_eq!(fold("مَرْحَبًا"), "مرحبا");
        assert_eq!(fold("أين"), "اين");
    }

    /// Folding character by character gives what "NFD, drop the marks, map" gives.
    #[test]
    fn fold_agrees_with_nfd_then_filter() {
        use unicode_normalization::UnicodeNormalization;
        let full = |t: &str| -> String {
            t.nfd()
                .filter(|c| !is_combining_mark(*c) && *c != '\u{0640}')
                .map(|c| match c {
                    'ٱ' => 'ا',
                    'ى' => 'ي',
                    'ł' => 'l',
                    'Ł' => 'L',
                    _ => c,
                })
                .collect()
        };
        for t in [
            "plain ascii",
            "שלום תודה 😀",
            "zamówienie",
            "ŁÓDŹ",
            "شكرا ى",
            "שָׁלוֹם",
            "e\u{301}",
            "한국어",
            "ﬁ",
            "Å",
            "a\u{301}\u{316}x",
            "مَـرْحَبًا ٱلله",
            "Tiếng Việt",
            "\u{958}",
        ] {
            assert_eq!(fold(t), full(t), "{t}");
        }
        // Every character of the Basic Multilingual Plane, alone and before a mark.
        for c in (0x80u32..0x1_0000).filter_map(char::from_u32) {
            let alone = c.to_string();
            assert_eq!(fold(&alone), full(&alone), "U+{:04X}", c as u32);
            let marked = format!("{c}\u{301}\u{5B8}");
            assert_eq!(
                fold(&marked),
                full(&marked),
                "U+{:04X} with marks",
                c as u32
            );
        }
    }

    #[test]
    fn fold_maps_polish_l_with_stroke() {
        assert_eq!(fold("Żółty łabędź"), "Zolty labedz");
    }

    /// Query syntax characters are neutralised; the last word is a prefix.
    #[test]
    fn fts_query_quotes_words() {
        assert_eq!(
            fts_query("order #1001 \"late\"").as_deref(),
            Some("\"order\" \"1001\" \"late\"*")
        );
        assert_eq!(fts_query("Zamówienie").as_deref(), Some("\"Zamowienie\"*"));
        assert_eq!(fts_query(" -:* "), None);
    }

    #[test]
    fn snippet_centres_on_the_match() {
        let text = "Hello, I ordered a blue scarf last week and the parcel has still not arrived at my door.";
        let s = snippet(text, &["PARCEL".to_owned()], 30);
        assert!(s.contains("parcel"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
    }

    #[test]
    fn snippet_matches_folded_text() {
        let s = snippet(
            "Dzień dobry, gdzie jest moje zamówienie?",
            &["zamowienie".to_owned()],
            20,
        );
        assert!(s.contains("zamówienie"), "{s}");
    }

    #[test]
    fn snippet_finds_unpointed_word_in_pointed_text() {
        let s = snippet("תודה רבה, שָׁלוֹם וברכה", &["שלום".to_owned()], 40);
        assert!(s.contains("שָׁלוֹם"), "{s}");
    }

    #[test]
    fn preview_collapses_whitespace() {
        assert_eq!(preview("a\n\n b\tc", 10), "a b c");
    }
}
