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

/// The inbox views: a tag, an assignee (`me`, `none`, a name), "waiting" (the customer
/// wrote last, not closed) and "follow-ups due" each list exactly the conversations that
/// qualify, checked against the unfiltered rows and the follow-ups table.
#[test]
fn inbox_views_filter_exactly() {
    let store = demo_store();
    let all = store.conversations(&ConversationFilter::default()).expect("list");
    let ids = |f: ConversationFilter| -> Vec<ConversationId> { store.conversations(&f).expect("list").into_iter().map(|c| c.id).collect() };

    let tag = all.iter().find_map(|c| c.tags.first().cloned()).expect("the demo tags conversations");
    let want: Vec<_> = all.iter().filter(|c| c.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag))).map(|c| c.id).collect();
    assert_eq!(ids(ConversationFilter { tag: Some(tag.to_uppercase()), ..Default::default() }), want);

    let unassigned: Vec<_> = all.iter().filter(|c| c.assignee.is_none()).map(|c| c.id).collect();
    assert_eq!(ids(ConversationFilter { assignee: Some("none".into()), ..Default::default() }), unassigned);
    let me = store.team_members().expect("team").into_iter().find(|m| m.is_me).expect("a me");
    let mine: Vec<_> = all.iter().filter(|c| c.assignee.as_deref() == Some(me.name.as_str())).map(|c| c.id).collect();
    assert!(!mine.is_empty());
    assert_eq!(ids(ConversationFilter { assignee: Some("me".into()), ..Default::default() }), mine);
    assert_eq!(ids(ConversationFilter { assignee: Some(me.name.to_lowercase()), ..Default::default() }), mine);

    let waiting: Vec<_> = all
        .iter()
        .filter(|c| c.status != Status::Closed && c.last_inbound.is_some_and(|at| at >= c.last_activity))
        .map(|c| c.id)
        .collect();
    assert!(!waiting.is_empty() && waiting.len() < all.len());
    assert_eq!(ids(ConversationFilter { waiting: true, ..Default::default() }), waiting);

    let by = ANCHOR + DAY;
    let due_customers: std::collections::HashSet<_> = store
        .followups(shopdesk_store::FollowupFilter::DueBefore(by))
        .expect("followups")
        .into_iter()
        .map(|f| f.customer_id)
        .collect();
    let due: Vec<_> = all.iter().filter(|c| due_customers.contains(&c.customer_id)).map(|c| c.id).collect();
    assert!(!due.is_empty());
    assert_eq!(ids(ConversationFilter { followups_due_by: Some(by), ..Default::default() }), due);
}

/// Search operators filter the full-text hits: every hit of `channel:`/`status:`/`tag:`/
/// `from:`/dates satisfies the operator, and operators alone list messages newest first.
#[test]
fn search_operators_filter_hits() {
    use shopdesk_core::search::parse_search;
    let store = demo_store();
    let tz = jiff::tz::TimeZone::UTC;
    let q = |text: &str| store.search_query(&parse_search(text, &tz).expect("parses"), 500).expect("search");

    let whatsapp = q("channel:whatsapp");
    assert!(!whatsapp.is_empty() && whatsapp.iter().all(|h| h.channel == Channel::Whatsapp));
    assert!(whatsapp.windows(2).all(|w| w[0].sent_at >= w[1].sent_at), "operators alone: newest first");

    let open = q("status:open");
    assert!(!open.is_empty());
    for h in &open {
        assert_eq!(store.conversation(h.conversation_id).expect("row").status, Status::Open);
    }

    let someone = &whatsapp[0].customer_name;
    let first = someone.split_whitespace().next().expect("a name");
    let from = q(&format!("from:\"{first}\""));
    assert!(from.iter().any(|h| &h.customer_name == someone));

    let after = q("after:2025-11-15 before:2025-11-20");
    assert!(!after.is_empty() && after.iter().all(|h| (1_763_164_800_000..1_763_596_800_000).contains(&h.sent_at)));
    let none = q("before:1990-01-01");
    assert!(none.is_empty());
}
