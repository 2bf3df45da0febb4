//! Store behaviour over a generated demo shop.

use shopdesk_core::demo::DemoOptions;
use shopdesk_core::{Channel, ConversationId, DAY, Millis, Status};
use shopdesk_store::{ConversationFilter, Store};

const ANCHOR: Millis = 1_763_769_600_000; // 2025-11-22T00:00:00Z

fn demo_store() -> Store {
    let mut store = Store::open_in_memory().expect("open");
    store.write_demo(&DemoOptions { anchor: ANCHOR, ..DemoOptions::default() }, ANCHOR).expect("demo");
    store
}

/// stats counts what was written, and follow-ups due are those pending before the cut-off.
#[test]
fn stats_match_the_demo_summary() {
    let mut store = Store::open_in_memory().expect("open");
    let summary = store.write_demo(&DemoOptions { anchor: ANCHOR, ..DemoOptions::default() }, ANCHOR).expect("demo");
    let stats = store.stats(ANCHOR + DAY).expect("stats");
    assert_eq!(stats.customers as usize, summary.customers);
    assert_eq!(stats.messages as usize, summary.messages);
    assert_eq!(stats.conversations as usize, summary.conversations);
    assert_eq!(stats.orders as usize, summary.orders);
    assert!(stats.customers >= 40 && stats.messages >= 500, "{stats:?}");
    let later = store.stats(ANCHOR + 30 * DAY).expect("stats");
    assert!(stats.followups_due > 0 && later.followups_due > stats.followups_due, "{stats:?} {later:?}");
}

/// The inbox is ordered newest activity first, and last_activity is the newest message.
#[test]
fn conversations_newest_first_with_counts() {
    let store = demo_store();
    let all = store.conversations(&ConversationFilter::default()).expect("list");
    assert!(all.windows(2).all(|w| w[0].last_activity >= w[1].last_activity));
    for c in all.iter().take(10) {
        let msgs = store.messages(c.id).expect("messages");
        assert_eq!(msgs.len() as i64, c.message_count);
        assert_eq!(msgs.last().map(|m| m.sent_at), Some(c.last_activity));
        let email_ids: Vec<String> = msgs.iter().filter_map(|m| m.rfc_message_id.clone()).collect();
        assert_eq!(email_ids, c.message_ids);
        assert_eq!(c.channel == Channel::Email, !c.message_ids.is_empty());
    }
}

/// Paging returns consecutive slices of the same order.
#[test]
fn paging_is_stable() {
    let store = demo_store();
    let all = store.conversations(&ConversationFilter::default()).expect("list");
    let page2 = store.conversations(&ConversationFilter { limit: Some(10), offset: 10, ..Default::default() }).expect("page");
    assert_eq!(page2, all[10..20].to_vec());
}

/// Filters narrow by customer, status and channel.
#[test]
fn filters_apply() {
    let store = demo_store();
    let open = store.conversations(&ConversationFilter { status: Some(Status::Open), ..Default::default() }).expect("list");
    assert!(!open.is_empty() && open.iter().all(|c| c.status == Status::Open));
    let customer = open[0].customer_id;
    let theirs = store.conversations(&ConversationFilter { customer: Some(customer), ..Default::default() }).expect("list");
    assert!(theirs.iter().all(|c| c.customer_id == customer));
    let chats = store.conversations(&ConversationFilter { channel: Some(Channel::Whatsapp), ..Default::default() }).expect("list");
    assert!(!chats.is_empty() && chats.iter().all(|c| c.channel == Channel::Whatsapp && c.message_ids.is_empty()));
}

/// Unknown ids are NotFound, not empty lists.
#[test]
fn missing_conversation_is_not_found() {
    let store = demo_store();
    let err = store.messages(ConversationId(999_999)).expect_err("no such conversation");
    assert!(err.to_string().contains("999999"), "{err}");
}

/// Customers carry their identities; the same value never appears twice for one kind.
#[test]
fn customers_have_identities() {
    let store = demo_store();
    let customers = store.customers().expect("customers");
    assert_eq!(customers.len(), 48);
    assert!(customers.iter().all(|c| !c.identities.is_empty()));
    let mut seen = std::collections::HashSet::new();
    for i in customers.iter().flat_map(|c| &c.identities) {
        assert!(seen.insert((i.kind, i.value.clone())), "duplicate identity {i:?}");
    }
}

/// Full-text search finds Hebrew, Arabic and Polish words, with and without diacritics,
/// and a snippet that shows the match.
#[test]
fn search_finds_hebrew_arabic_and_polish() {
    let store = demo_store();
    for (query, expect) in [
        ("ההזמנה", "ההזמנה"),
        ("طلبي", "طلبي"),
        ("zamówienie", "zamówienie"),
        ("zamowienie", "zamówienie"),
        ("Żółty", "Żółty"),
        ("zolty", "Żółty"),
    ] {
        let hits = store.search(query, 20).expect("search");
        assert!(!hits.is_empty(), "no hit for {query}");
        assert!(hits.iter().any(|h| h.snippet.contains(expect)), "{query}: {:?}", hits[0].snippet);
    }
}

/// Query syntax in user input is literal: no FTS syntax error reaches the user.
#[test]
fn search_survives_hostile_queries() {
    let store = demo_store();
    for q in ["\"", "a OR", "NEAR(", "*", "-x", "col:val", "((", "^"] {
        store.search(q, 5).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}
