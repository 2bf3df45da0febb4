//! `gen-whatsapp`: a deterministic Android-style WhatsApp export for bench/whatsapp.
//!
//!     gen-whatsapp --lines 1000000 [--seed 1] OUT.txt
//!
//! Shape (issue 4): `dd/mm/yyyy, HH:MM - Name: text` lines (24 h clock), ~5 % continuation
//! lines (multiline messages, some blank), Hebrew, Polish and English text with emoji, a
//! few system lines and media markers, two to four authors of which one is the shop and
//! one is a phone number. About 72 bytes per line, so 1,000,000 lines ≈ 72 MB.

use anyhow::{Context, bail};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};

const AUTHORS: &[&str] = &["Sklep Ola", "Dana Levi", "+972 54-765-4321", "Marta Kowalska"];
const TEXTS: &[&str] = &[
    "Hi, is the blue dress still available in size M?",
    "Yes, we have it! Shall I reserve one for you?",
    "שלום, מתי ההזמנה שלי תגיע? 📦",
    "ההזמנה נשלחה היום, מספר מעקב בהודעה הבאה 🙂",
    "Dzień dobry, czy mogę zmienić adres dostawy?",
    "Oczywiście, proszę podać nowy adres 😊",
    "Thank you so much ❤️",
    "תודה רבה! הכל הגיע בזמן 👍",
    "Dziękuję, paczka dotarła w idealnym stanie 🎁",
    "Can I return it if it doesn't fit?",
    "Sure, within 14 days, just keep the tag on.",
    "כמה עולה משלוח לאילת?",
    "Ile kosztuje wysyłka do Gdańska?",
    "ok 👌",
];
const CONTINUATIONS: &[&str] =
    &["", "Order #10492, two items.", "תודה מראש", "Pozdrawiam serdecznie", "PS: gift wrap please 🎀"];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut lines, mut seed, mut out) = (1_000_000usize, 1u64, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lines" => lines = args.next().context("--lines N")?.parse()?,
            "--seed" => seed = args.next().context("--seed N")?.parse()?,
            _ if a.starts_with('-') => bail!("unknown option {a}"),
            _ => out = Some(a),
        }
    }
    let out = out.context("usage: gen-whatsapp [--lines N] [--seed N] OUT.txt")?;
    let file = std::fs::File::create(&out).with_context(|| format!("create {out}"))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Minutes since 2019-01-01 00:00; advances a little per message.
    let mut minute: u64 = 0;
    writeln!(w, "01/01/2019, 00:00 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.")?;
    let mut written = 1;
    while written < lines {
        minute += rng.random_range(0..4);
        let (y, mo, d, h, mi) = civil(minute);
        let roll = rng.random_range(0..1000);
        if roll < 3 {
            writeln!(w, "{d:02}/{mo:02}/{y}, {h:02}:{mi:02} - Dana Levi changed the subject to \"Ola 🛍️ orders\"")?;
            written += 1;
            continue;
        }
        let author = AUTHORS[rng.random_range(0..AUTHORS.len())];
        if roll < 30 {
            writeln!(w, "{d:02}/{mo:02}/{y}, {h:02}:{mi:02} - {author}: IMG-{y}{mo:02}{d:02}-WA{:04}.jpg (file attached)", written % 10_000)?;
            written += 1;
            continue;
        }
        let text = TEXTS[rng.random_range(0..TEXTS.len())];
        writeln!(w, "{d:02}/{mo:02}/{y}, {h:02}:{mi:02} - {author}: {text}")?;
        written += 1;
        // ~5 % of all lines are continuation lines of multiline messages.
        while written < lines && rng.random_range(0..100) < 5 {
            writeln!(w, "{}", CONTINUATIONS[rng.random_range(0..CONTINUATIONS.len())])?;
            written += 1;
        }
    }
    w.flush()?;
    Ok(())
}

/// Minutes since 2019-01-01 to a civil date (28-day months keep it simple and valid).
fn civil(minute: u64) -> (u64, u64, u64, u64, u64) {
    let days = minute / 1440;
    let (y, rest) = (2019 + days / 336, days % 336);
    (y, rest / 28 + 1, rest % 28 + 1, (minute / 60) % 24, minute % 60)
}
