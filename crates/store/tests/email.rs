//! Storing parsed emails: idempotency, threading, direction, customers.

use shopdesk_core::email::{Address, ParsedEmail};
use shopdesk_core::{ConversationId, DAY, HOUR, Status};
use shopdesk_store::{ConversationFilter, EmailInput, EmailLocation, Store, Stored};

const T0: i64 = 1_790_000_000_000;
const SHOP: &str = "hello@shop.test";

fn addr(email: &str, name: Option<&str>) -> Address {
    Address { email: email.to_owned(), name: name.map(str::to_owned) }
}

fn mail(id: &str, from: &str, to: &str, subject: &str, at: i64, in_reply_to: &[&str]) -> ParsedEmail {
    ParsedEmail {
        message_id: (!id.is_empty()).then(|| id.to_owned()),
        in_reply_to: in_reply_to.iter().map(|s| s.to_string()).collect(),
        subject: Some(subject.to_owned()),
        date: Some(at),
        from: vec![addr(from, None)],
        to: vec![addr(to, None)],
        text: format!("{subject} body {id}"),
        ..ParsedEmail::default()
    }
}

fn store(s: &mut Store, p: &ParsedEmail) -> Stored {
    let key = format!("test:{}:{}", p.message_id.as_deref().unwrap_or("-"), p.text);
    store_with_key(s, p, &key)
}

fn store_with_key(s: &mut Store, p: &ParsedEmail, key: &str) -> Stored {
    let own = vec![SHOP.to_owned()];
    let input = EmailInput { parsed: p, source_key: key, own_addresses: &own, location: EmailLocation::File { path: "t.mbox".into() } };
    s.store_email(&input, T0).expect("store")
}

fn conversation_of(s: Stored) -> i64 {
    match s {
        Stored::New { conversation, .. } => conversation.0,
        Stored::Duplicate { .. } => panic!("unexpected duplicate"),
    }
}

/// A reply chain of 5 messages, alternating customer and shop, is one conversation of
/// one customer, with the shop's replies outgoing.
#[test]
fn reply_chain_is_one_conversation() {
    let mut s = Store::open_in_memory().expect("open");
    let mut parent: Vec<&str> = Vec::new();
    let ids = ["m1@x", "m2@x", "m3@x", "m4@x", "m5@x"];
    let mut convs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (from, to) = if i % 2 == 0 { ("anna@example.test", SHOP) } else { (SHOP, "anna@example.test") };
        let subject = if i == 0 { "Order 1042".to_owned() } else { "Re: Order 1042".to_owned() };
        convs.push(conversation_of(store(&mut s, &mail(id, from, to, &subject, T0 + i as i64 * HOUR, &parent))));
        parent = vec![id];
    }
    assert!(convs.iter().all(|c| *c == convs[0]), "{convs:?}");
    let list = s.conversations(&ConversationFilter::default()).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].message_ids, ids.to_vec());
    let messages = s.messages(list[0].id).expect("messages");
    let directions: Vec<&str> = messages.iter().map(|m| m.direction.as_str()).collect();
    assert_eq!(directions, ["in", "out", "in", "out", "in"]);
    assert_eq!(s.customers().expect("customers").len(), 1);
}

/// Storing the same message again (same source key) adds nothing; it only records the
/// new location.
#[test]
fn same_source_key_is_a_duplicate() {
    let mut s = Store::open_in_memory().expect("open");
    let m = mail("dup@x", "anna@example.test", SHOP, "Hi", T0, &[]);
    let first = store(&mut s, &m);
    let again = store(&mut s, &m);
    assert!(matches!(again, Stored::Duplicate { message } if Some(message) == match first { Stored::New { message, .. } => Some(message), _ => None }));
    assert_eq!(s.stats(0).expect("stats").messages, 1);
}

/// Two different messages that reuse one Message-ID are both kept (never a silent drop).
#[test]
fn reused_message_id_keeps_both_messages() {
    let mut s = Store::open_in_memory().expect("open");
    store(&mut s, &mail("same@x", "anna@example.test", SHOP, "First", T0, &[]));
    let second = store(&mut s, &mail("same@x", "anna@example.test", SHOP, "Second, different text", T0 + HOUR, &[]));
    assert!(matches!(second, Stored::New { .. }));
    assert_eq!(s.stats(0).expect("stats").messages, 2);
}

/// A parent that arrives after two replies that each started a thread merges them.
#[test]
fn late_parent_merges_threads() {
    let mut s = Store::open_in_memory().expect("open");
    // b replies to a (unseen), c replies to root (unseen); then a arrives, replying to root.
    let b = conversation_of(store(&mut s, &mail("b@x", "anna@example.test", SHOP, "Re: Gift", T0 + 2 * HOUR, &["a@x"])));
    let c = conversation_of(store(&mut s, &mail("c@x", "anna@example.test", SHOP, "Re: Wrap", T0 + 3 * HOUR, &["root@x"])));
    assert_ne!(b, c);
    let a = conversation_of(store(&mut s, &mail("a@x", "anna@example.test", SHOP, "Re: Hello", T0 + HOUR, &["root@x"])));
    let list = s.conversations(&ConversationFilter::default()).expect("list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].id.0, a);
    assert_eq!(list[0].message_count, 3);
    assert_eq!(list[0].last_activity, T0 + 3 * HOUR);
}

/// A message that lists itself among its references does not loop or split.
#[test]
fn self_reference_is_ignored() {
    let mut s = Store::open_in_memory().expect("open");
    let mut m = mail("self@x", "anna@example.test", SHOP, "Loop", T0, &["self@x"]);
    m.references = vec!["self@x".into()];
    assert!(matches!(store(&mut s, &m), Stored::New { .. }));
}

/// Subject fallback joins only the same customer's thread, and only within the window.
#[test]
fn subject_fallback_is_per_customer_and_windowed() {
    let mut s = Store::open_in_memory().expect("open");
    let first = conversation_of(store(&mut s, &mail("s1@x", "anna@example.test", SHOP, "Delivery", T0, &[])));
    let same = conversation_of(store(&mut s, &mail("s2@x", "anna@example.test", SHOP, "Re: Delivery", T0 + DAY, &[])));
    let other_customer = conversation_of(store(&mut s, &mail("s3@x", "bob@example.test", SHOP, "Re: Delivery", T0 + DAY, &[])));
    let much_later = conversation_of(store(&mut s, &mail("s4@x", "anna@example.test", SHOP, "Delivery", T0 + 60 * DAY, &[])));
    assert_eq!(first, same);
    assert_ne!(first, other_customer);
    assert_ne!(first, much_later);
}

/// Outgoing mail belongs to its recipient; a display name seen later names the customer.
#[test]
fn customers_come_from_addresses() {
    let mut s = Store::open_in_memory().expect("open");
    store(&mut s, &mail("o1@x", SHOP, "Zofia@Example.TEST", "Your order", T0, &[]));
    let mut named = mail("o2@x", "zofia@example.test", SHOP, "Re: Your order", T0 + HOUR, &["o1@x"]);
    named.from = vec![addr("zofia@example.test", Some("Zofia Wójcik"))];
    store(&mut s, &named);
    let customers = s.customers().expect("customers");
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].name, "Zofia Wójcik");
    assert_eq!(customers[0].identities[0].value, "zofia@example.test");
}

/// The customer's Reply-To decides who they are when set.
#[test]
fn reply_to_is_the_customer() {
    let mut s = Store::open_in_memory().expect("open");
    let mut m = mail("r1@x", "noreply@forms.example", SHOP, "Contact form", T0, &[]);
    m.reply_to = vec![addr("real@example.test", Some("Real Person"))];
    store(&mut s, &m);
    let customers = s.customers().expect("customers");
    assert_eq!(customers[0].identities[0].value, "real@example.test");
}

/// A customer's new mail reopens a snoozed conversation; importing an older message does not.
#[test]
fn customer_reply_wakes_the_conversation() {
    let mut s = Store::open_in_memory().expect("open");
    let conv = conversation_of(store(&mut s, &mail("w1@x", "anna@example.test", SHOP, "Size", T0, &[])));
    s.set_status(ConversationId(conv), Status::Snoozed, None, "test", T0).expect("snooze");
    store(&mut s, &mail("w0@x", "anna@example.test", SHOP, "Re: Size", T0 - HOUR, &["w1@x"]));
    assert_eq!(s.conversations(&ConversationFilter::default()).expect("list")[0].status.as_str(), "snoozed");
    store(&mut s, &mail("w2@x", "anna@example.test", SHOP, "Re: Size", T0 + HOUR, &["w1@x"]));
    assert_eq!(s.conversations(&ConversationFilter::default()).expect("list")[0].status.as_str(), "open");
}

/// A batch stores like one message after another (threads, duplicates inside the batch),
/// and a message that fails is rolled back alone: the rest of the batch is kept.
#[test]
fn batch_keeps_the_others_when_one_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = Store::open(&dir.path().join("s.db")).expect("open");
    // Attachments go under <dir>/attachments: a file there makes storing one fail.
    std::fs::write(dir.path().join("attachments"), b"in the way").expect("block");
    let q1 = mail("q1@x", "anna@example.test", SHOP, "Order 7", T0, &[]);
    let a1 = mail("a1@x", SHOP, "anna@example.test", "Re: Order 7", T0 + HOUR, &["q1@x"]);
    let mut broken = mail("att@x", "anna@example.test", SHOP, "Photo", T0 + 2 * HOUR, &[]);
    broken.attachments.push(shopdesk_core::email::ParsedAttachment {
        filename: Some("p.jpg".into()),
        mime_type: "image/jpeg".into(),
        content_id: None,
        inline: false,
        data: b"jpeg".to_vec(),
    });
    let q2 = mail("q2@x", "anna@example.test", SHOP, "Re: Order 7", T0 + 3 * HOUR, &["a1@x"]);
    let own = vec![SHOP.to_owned()];
    let batch = [&q1, &a1, &broken, &q2, &q1];
    let keys: Vec<String> = batch.iter().map(|p| format!("test:{}", p.message_id.as_deref().unwrap_or("-"))).collect();
    let inputs: Vec<EmailInput<'_>> = batch
        .iter()
        .zip(&keys)
        .map(|(p, key)| EmailInput { parsed: p, source_key: key, own_addresses: &own, location: EmailLocation::File { path: "b".into() } })
        .collect();
    let results = s.store_emails(&inputs, T0).expect("batch");
    assert_eq!(results.len(), 5);
    assert!(results[2].is_err(), "{:?}", results[2]);
    let convs: Vec<i64> = [0, 1, 3].iter().map(|&i| conversation_of(*results[i].as_ref().expect("stored"))).collect();
    assert!(convs.iter().all(|c| *c == convs[0]), "{convs:?}");
    assert!(matches!(results[4], Ok(Stored::Duplicate { .. })), "{:?}", results[4]);
    assert_eq!(s.stats(0).expect("stats").messages, 3);
    let list = s.conversations(&ConversationFilter::default()).expect("list");
    assert_eq!(list.len(), 1, "the failed message left no conversation: {list:?}");
    assert_eq!(list[0].message_ids, ["q1@x", "a1@x", "q2@x"]);
}
