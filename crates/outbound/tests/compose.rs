//! Composing replies: threading headers, subjects, signature, attachments and refused
//! input, checked by parsing the bytes back with the importer Shopdesk itself uses, and
//! against golden files (checked by hand) for the exact bytes.

use shopdesk_ingest::mail::{parse_email, source_key};
use shopdesk_outbound::{
    ComposeError, OutAttachment, Party, ReplyInput, compose_reply, reply_subject,
};
use std::path::PathBuf;

const DATE: i64 = 1_764_590_400_000; // 2025-12-01T12:00:00Z

fn input<'a>(refs: &'a [String], attachments: &'a [OutAttachment]) -> ReplyInput<'a> {
    ReplyInput {
        from: Party {
            name: Some("Sunflower Shop".into()),
            email: "hello@shop.test".into(),
        },
        to: vec![Party {
            name: Some("Anna Kowalska".into()),
            email: "anna@example.test".into(),
        }],
        original_subject: Some("AW: Re: Zamówienie #1042"),
        subject: None,
        parent_id: Some("c2@example.test"),
        parent_references: refs,
        body_text: "Dzień dobry,\nthe parcel left today.\n",
        body_html: None,
        signature: Some("Sunflower Shop\nhttps://shop.test"),
        attachments,
        date: DATE,
        random: 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
    }
}

fn golden(name: &str, raw: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, raw).expect("write golden");
    }
    let want = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(
        String::from_utf8_lossy(raw),
        String::from_utf8_lossy(&want),
        "{name} differs from its golden file"
    );
}

/// The reply threads under the customer's message: In-Reply-To is its id, References its
/// References plus its id; one `Re:`; From/To as given; the signature below `-- `; the
/// Message-ID is on the account's domain. Exact bytes match the golden file.
#[test]
fn plain_reply_threads_and_matches_golden() {
    let refs = vec!["c1@example.test".to_owned(), "s1@shop.test".to_owned()];
    let composed = compose_reply(&input(&refs, &[])).expect("compose");
    let p = parse_email(&composed.raw);
    assert_eq!(p.in_reply_to, vec!["c2@example.test".to_owned()]);
    assert_eq!(
        p.references,
        vec![
            "c1@example.test".to_owned(),
            "s1@shop.test".to_owned(),
            "c2@example.test".to_owned()
        ]
    );
    assert_eq!(p.subject.as_deref(), Some("Re: Zamówienie #1042"));
    assert_eq!(p.message_id.as_deref(), Some(composed.message_id.as_str()));
    assert!(
        composed.message_id.ends_with("@shop.test"),
        "{}",
        composed.message_id
    );
    assert_eq!(p.from[0].email, "hello@shop.test");
    assert_eq!(p.from[0].name.as_deref(), Some("Sunflower Shop"));
    assert_eq!(p.to[0].email, "anna@example.test");
    assert_eq!(p.date, Some(DATE));
    assert!(
        p.text
            .replace("\r\n", "\n")
            .contains("the parcel left today.\n\n-- \nSunflower Shop"),
        "{:?}",
        p.text
    );
    assert_eq!(composed.envelope_from, "hello@shop.test");
    assert_eq!(composed.recipients, vec!["anna@example.test".to_owned()]);
    // Composing is deterministic: what the outbox stores is what gets sent and APPENDed.
    assert_eq!(
        compose_reply(&input(&refs, &[])).expect("again").raw,
        composed.raw
    );
    assert!(source_key(&p).starts_with(&format!("email:{}:", composed.message_id)));
    golden("plain.eml", &composed.raw);
}

/// Text + HTML become multipart/alternative inside multipart/mixed with the attachment;
/// the HTML gets the signature too.
#[test]
fn html_and_attachment_reply_matches_golden() {
    let files = vec![OutAttachment {
        filename: "faktura 1042.pdf".into(),
        mime_type: "application/pdf".into(),
        data: b"%PDF-1.4 fake".to_vec(),
    }];
    let refs: Vec<String> = Vec::new();
    let mut i = input(&refs, &files);
    i.body_html = Some("<p>Dzień dobry, the parcel left today.</p>");
    let composed = compose_reply(&i).expect("compose");
    let p = parse_email(&composed.raw);
    assert_eq!(p.attachments.len(), 1);
    assert_eq!(
        p.attachments[0].filename.as_deref(),
        Some("faktura 1042.pdf")
    );
    assert_eq!(p.attachments[0].data, b"%PDF-1.4 fake");
    let html = p.html.as_deref().expect("html part");
    assert!(
        html.contains("the parcel left today") && html.contains("Sunflower Shop"),
        "{html}"
    );
    assert_eq!(p.references, vec!["c2@example.test".to_owned()]);
    golden("html-attachment.eml", &composed.raw);
}

/// Reply prefixes in any case and language are stripped before one `Re: ` is added.
#[test]
fn re_is_never_doubled() {
    for (given, want) in [
        ("Order 1", "Re: Order 1"),
        ("Re: Order 1", "Re: Order 1"),
        ("RE: re:Order 1", "Re: Order 1"),
        ("Aw: AW: Order 1", "Re: Order 1"),
        ("Re[2]: Order 1", "Re: Order 1"),
        ("Odp: Zamówienie", "Re: Zamówienie"),
        ("השב: הזמנה", "Re: הזמנה"),
        ("Reply needed", "Re: Reply needed"),
        ("Re:", "Re:"),
        ("", "Re:"),
    ] {
        assert_eq!(reply_subject(given), want, "{given:?}");
    }
}

/// References keep the thread's root and the most recent ids, parent last, no repeats.
#[test]
fn long_reference_chains_are_trimmed() {
    let refs: Vec<String> = (0..30)
        .map(|i| format!("m{i}@example.test"))
        .chain(["m3@example.test".to_owned()])
        .collect();
    let composed = compose_reply(&input(&refs, &[])).expect("compose");
    let p = parse_email(&composed.raw);
    assert_eq!(p.references.len(), 10, "{:?}", p.references);
    assert_eq!(p.references[0], "m0@example.test");
    assert_eq!(
        p.references.last().map(String::as_str),
        Some("c2@example.test")
    );
    assert_eq!(p.references[1], "m22@example.test");
}

/// CR/LF in a subject or a name is refused (never a second header); a bad address is a
/// clear error naming the field.
#[test]
fn injection_and_bad_addresses_are_refused() {
    let refs: Vec<String> = Vec::new();
    let mut i = input(&refs, &[]);
    i.subject = Some("Hello\r\nBcc: victim@example.test");
    assert_eq!(
        compose_reply(&i).expect_err("subject"),
        ComposeError::HeaderInjection { field: "Subject" }
    );

    let mut i = input(&refs, &[]);
    i.from.name = Some("Shop\nBcc: victim@example.test".into());
    assert_eq!(
        compose_reply(&i).expect_err("name"),
        ComposeError::HeaderInjection { field: "From" }
    );

    let mut i = input(&refs, &[]);
    i.to = vec![Party {
        name: None,
        email: "not an address".into(),
    }];
    let err = compose_reply(&i).expect_err("address");
    assert!(
        matches!(err, ComposeError::InvalidAddress { field: "To", .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("not an address"), "{err}");

    let mut i = input(&refs, &[]);
    i.to = vec![Party {
        name: None,
        email: "a@example.test\r\nBcc: x@y.test".into(),
    }];
    assert!(compose_reply(&i).is_err());

    // Hostile ids from stored mail are dropped, not written into headers.
    let refs = vec![
        "ok@example.test".to_owned(),
        "bad\r\nBcc: x@y.test".to_owned(),
    ];
    let mut i = input(&refs, &[]);
    i.parent_id = Some("evil>\r\nBcc: x@y.test");
    let raw = compose_reply(&i).expect("compose").raw;
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.to_ascii_lowercase().contains("bcc"), "{text}");
    assert!(!text.contains("In-Reply-To"), "{text}");

    // A stored subject with control characters is folded into spaces.
    let mut i = input(&[], &[]);
    i.original_subject = Some("Order\r\nBcc: x@y.test");
    let composed = compose_reply(&i).expect("compose");
    assert_eq!(composed.subject, "Re: Order  Bcc: x@y.test");
    assert_eq!(
        parse_email(&composed.raw).subject.as_deref(),
        Some("Re: Order  Bcc: x@y.test")
    );
}
