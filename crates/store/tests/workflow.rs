//! The conversation workflow in the store: changes are logged with their actor, a
//! customer's message (mail or chat) wakes a snoozed conversation and cancels a "send
//! later" reply scheduled before it, timed snoozes wake when due, templates are checked
//! when saved.

use shopdesk_core::chat::{ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatTime};
use shopdesk_core::email::{Address, ParsedEmail};
use shopdesk_core::{Channel, ConversationId, HOUR, MINUTE, Priority, Status};
use shopdesk_store::{
    CANCELLED_BY_CUSTOMER, ChatStoreOptions, EmailInput, EmailLocation, NoteTarget, Saved, Store,
    StoreError, Stored,
};
use std::path::{Path, PathBuf};

const T0: i64 = 1_790_000_000_000;
const SHOP: &str = "hello@shop.test";

fn mail(id: &str, from: &str, to: &str, at: i64, in_reply_to: &[&str]) -> ParsedEmail {
    ParsedEmail {
        message_id: Some(id.to_owned()),
        in_reply_to: in_reply_to.iter().map(|s| s.to_string()).collect(),
        subject: Some("Order 1042".to_owned()),
        date: Some(at),
        from: vec![Address {
            email: from.to_owned(),
            name: Some("Anna Kowalska".to_owned()),
        }],
        to: vec![Address {
            email: to.to_owned(),
            name: None,
        }],
        text: format!("body of {id}"),
        ..ParsedEmail::default()
    }
}

fn store_mail(s: &mut Store, p: &ParsedEmail, now: i64) -> ConversationId {
    let own = vec![SHOP.to_owned()];
    let key = format!("test:{}", p.message_id.as_deref().unwrap_or("-"));
    let input = EmailInput {
        parsed: p,
        source_key: &key,
        own_addresses: &own,
        location: EmailLocation::File {
            path: "t.mbox".into(),
        },
    };
    match s.store_email(&input, now).expect("store") {
        Stored::New { conversation, .. } => conversation,
        Stored::Duplicate { .. } => panic!("unexpected duplicate"),
    }
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
}

fn db() -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.db");
    let store = Store::open(&path).expect("open");
    Db {
        _dir: dir,
        path,
        store,
    }
}

/// A side connection for rows whose API belongs to another module (outbox), and for
/// reading the event log directly.
fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw connection")
}

fn status_of(s: &Store, id: ConversationId) -> (Status, Option<i64>) {
    let c = s.conversation(id).expect("conversation");
    (c.status, c.snoozed_until)
}

/// Inserts a queued outbox row for `conversation` scheduled for `send_after`.
fn schedule(
    path: &Path,
    conversation: ConversationId,
    send_after: i64,
    cancel_on_reply: bool,
    created_at: i64,
) -> i64 {
    let c = raw(path);
    c.execute(
        "INSERT OR IGNORE INTO accounts(id, name, email, username, imap_host, imap_port, imap_tls, smtp_host, smtp_port,
                                        smtp_tls, created_at)
         VALUES (1, 'shop', 'hello@shop.test', 'u', 'imap.test', 993, 'tls', 'smtp.test', 465, 'tls', 0)",
        [],
    )
    .expect("account");
    c.execute(
        "INSERT INTO outbox(account_id, conversation_id, rfc_message_id, raw, send_after, cancel_on_reply, created_at)
         VALUES (1, ?1, ?2, x'00', ?3, ?4, ?5)",
        rusqlite::params![conversation.0, format!("<{send_after}.{cancel_on_reply}@shop.test>"), send_after, cancel_on_reply, created_at],
    )
    .expect("outbox row");
    c.last_insert_rowid()
}

fn outbox_state(path: &Path, id: i64) -> (String, Option<String>) {
    raw(path)
        .query_row(
            "SELECT state, last_error FROM outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("outbox row")
}

/// Each workflow change writes one event naming the actor passed in.
#[test]
fn changes_are_logged_with_their_actor() {
    let mut d = db();
    let s = &mut d.store;
    let me = s
        .add_team_member("Dana Levi", Some("dana@shop.test"), true, T0)
        .expect("me");
    let other = s.add_team_member("Omar", None, false, T0).expect("other");
    assert_eq!(s.me().expect("me").map(|m| m.id), Some(me));
    let conv = store_mail(s, &mail("a1@x", "anna@example.test", SHOP, T0, &[]), T0);

    s.set_status(conv, Status::Pending, None, "Dana Levi", T0 + 1)
        .expect("status");
    s.set_priority(conv, Priority::Urgent, "Dana Levi", T0 + 2)
        .expect("priority");
    assert!(
        s.tag_conversation(conv, "wholesale", "Dana Levi", T0 + 3)
            .expect("tag")
    );
    assert!(
        !s.tag_conversation(conv, "Wholesale", "Dana Levi", T0 + 3)
            .expect("tag again"),
        "tags ignore case"
    );
    s.assign(conv, Some(other), "Dana Levi", T0 + 4)
        .expect("assign");
    let row = s.conversation(conv).expect("row");
    assert_eq!(
        (row.status, row.priority),
        (Status::Pending, Priority::Urgent)
    );
    assert_eq!(row.tags, vec!["wholesale".to_string()]);
    assert_eq!(row.assignee.as_deref(), Some("Omar"));
    assert!(
        s.untag_conversation(conv, "WHOLESALE", "Dana Levi", T0 + 5)
            .expect("untag")
    );
    s.assign(conv, None, "Dana Levi", T0 + 6).expect("unassign");
    assert!(s.conversation(conv).expect("row").assignee.is_none());

    let events = s.events_of("conversations", conv.0).expect("events");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["status", "priority", "tag", "assign", "untag", "assign"]
    );
    assert!(events.iter().all(|e| e.actor == "Dana Levi"), "{events:?}");

    let missing = s.set_priority(ConversationId(999), Priority::Low, "Dana Levi", T0);
    assert!(
        matches!(
            missing,
            Err(StoreError::NotFound {
                what: "conversation",
                ..
            })
        ),
        "{missing:?}"
    );
    assert!(matches!(
        s.add_team_member("dana levi", None, false, T0),
        Err(StoreError::AlreadyExists { .. })
    ));
}

/// A note is kept on the customer (and its conversation), never becomes a message.
#[test]
fn notes_are_internal() {
    let mut d = db();
    let s = &mut d.store;
    let me = s.add_team_member("Dana", None, true, T0).expect("me");
    let conv = store_mail(s, &mail("n1@x", "anna@example.test", SHOP, T0, &[]), T0);
    let customer = s.conversation(conv).expect("row").customer_id;
    s.add_note(
        NoteTarget::Conversation(conv),
        "פרה אדומה — לא לשלוח",
        Some(me),
        "Dana",
        T0 + 1,
    )
    .expect("note");
    s.add_note(
        NoteTarget::Customer(customer),
        "VIP",
        Some(me),
        "Dana",
        T0 + 2,
    )
    .expect("note");
    let notes = s.notes(customer).expect("notes");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].conversation_id, Some(conv));
    assert_eq!(notes[0].body, "פרה אדומה — לא לשלוח");
    assert_eq!(notes[1].author.as_deref(), Some("Dana"));
    assert_eq!(
        s.messages(conv).expect("messages").len(),
        1,
        "a note is not a message"
    );
    assert!(
        s.add_note(
            NoteTarget::Conversation(ConversationId(77)),
            "x",
            None,
            "Dana",
            T0
        )
        .is_err()
    );
}

/// Snoozed until the customer replies: a newer customer mail wakes it (logged as the
/// system), an older one arriving late does not.
#[test]
fn snooze_until_reply_wakes_on_incoming_email() {
    let mut d = db();
    let s = &mut d.store;
    let conv = store_mail(s, &mail("s1@x", "anna@example.test", SHOP, T0, &[]), T0);
    s.snooze(conv, None, "Dana", T0 + MINUTE).expect("snooze");
    assert_eq!(status_of(s, conv), (Status::Snoozed, None));
    store_mail(
        s,
        &mail("s0@x", "anna@example.test", SHOP, T0 - HOUR, &["s1@x"]),
        T0 + 2 * MINUTE,
    );
    assert_eq!(
        status_of(s, conv).0,
        Status::Snoozed,
        "an old message is no reply"
    );
    // A timed snooze also ends early when the customer writes.
    s.snooze(conv, Some(T0 + 48 * HOUR), "Dana", T0 + 3 * MINUTE)
        .expect("snooze");
    let again = store_mail(
        s,
        &mail("s2@x", "anna@example.test", SHOP, T0 + HOUR, &["s1@x"]),
        T0 + HOUR,
    );
    assert_eq!(again, conv);
    assert_eq!(status_of(s, conv), (Status::Open, None));
    let woken = s.events_of("conversations", conv.0).expect("events");
    let last = woken.last().expect("an event");
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("woken", "system")
    );
}

fn wa_line(minute: u8, author: &str, text: &str) -> ChatMessage {
    ChatMessage {
        at: ChatTime::Utc(T0 + i64::from(minute) * MINUTE),
        author: Some(ChatAuthor {
            name: author.to_owned(),
            id: None,
        }),
        kind: ChatKind::Message,
        text: text.to_owned(),
        attachments: Vec::new(),
        line: usize::from(minute) + 1,
    }
}

fn store_chat(s: &mut Store, lines: Vec<ChatMessage>, now: i64) -> ConversationId {
    let export = ChatExport {
        title: Some("Anna".to_owned()),
        messages: lines,
        ..ChatExport::new(Channel::Whatsapp)
    };
    let own = vec!["Shop".to_owned()];
    let to_utc = |_| 0;
    let options = ChatStoreOptions {
        own_names: &own,
        phone_region: Some("IL"),
        to_utc: &to_utc,
        source: "chat.txt",
    };
    s.store_chat(&export, &options, now)
        .expect("store chat")
        .conversation
        .expect("a conversation")
}

/// Snoozed until reply on WhatsApp: the customer's next line wakes it; the shop's own
/// line does not.
#[test]
fn snooze_until_reply_wakes_on_incoming_chat_line() {
    let mut d = db();
    let s = &mut d.store;
    let conv = store_chat(s, vec![wa_line(0, "Anna", "שלום, איפה ההזמנה?")], T0);
    s.snooze(conv, None, "Dana", T0 + MINUTE).expect("snooze");
    store_chat(
        s,
        vec![
            wa_line(0, "Anna", "שלום, איפה ההזמנה?"),
            wa_line(2, "Shop", "בודקים"),
        ],
        T0 + 2 * MINUTE,
    );
    assert_eq!(
        status_of(s, conv).0,
        Status::Snoozed,
        "the shop's own line wakes nothing"
    );
    store_chat(
        s,
        vec![
            wa_line(0, "Anna", "שלום, איפה ההזמנה?"),
            wa_line(2, "Shop", "בודקים"),
            wa_line(9, "Anna", "תודה!"),
        ],
        T0 + 10 * MINUTE,
    );
    assert_eq!(status_of(s, conv), (Status::Open, None));
}

/// A timed snooze wakes through wake_due_snoozes once due, not before; an until-reply
/// snooze is never woken by the clock.
#[test]
fn timed_snooze_wakes_when_due() {
    let mut d = db();
    let s = &mut d.store;
    let a = store_mail(s, &mail("t1@x", "anna@example.test", SHOP, T0, &[]), T0);
    let b = store_mail(s, &mail("t2@x", "bob@example.test", SHOP, T0, &[]), T0);
    let c = store_mail(s, &mail("t3@x", "cyd@example.test", SHOP, T0, &[]), T0);
    s.snooze(a, Some(T0 + HOUR), "Dana", T0).expect("snooze a");
    s.snooze(b, Some(T0 + 2 * HOUR), "Dana", T0)
        .expect("snooze b");
    s.snooze(c, None, "Dana", T0).expect("snooze c");
    assert_eq!(s.next_snooze_due().expect("next"), Some(T0 + HOUR));
    assert_eq!(s.wake_due_snoozes(T0 + HOUR - 1).expect("wake"), vec![]);
    assert_eq!(s.wake_due_snoozes(T0 + HOUR).expect("wake"), vec![a]);
    assert_eq!(status_of(s, a), (Status::Open, None));
    assert_eq!(s.wake_due_snoozes(T0 + 100 * HOUR).expect("wake"), vec![b]);
    assert_eq!(status_of(s, c), (Status::Snoozed, None));
    assert_eq!(s.next_snooze_due().expect("next"), None);
    let events = s.events_of("conversations", b.0).expect("events");
    assert_eq!(
        events.last().map(|e| (e.action.as_str(), e.actor.as_str())),
        Some(("woken", "system"))
    );
}

/// A reply scheduled for later is cancelled when the customer writes first (with the
/// reason and an event); one with cancel_on_reply = 0, one already due, and one scheduled
/// after the customer wrote are kept.
#[test]
fn scheduled_reply_cancelled_when_customer_writes_first() {
    let mut d = db();
    let conv = store_mail(
        &mut d.store,
        &mail("o1@x", "anna@example.test", SHOP, T0, &[]),
        T0,
    );
    let cancel = schedule(&d.path, conv, T0 + 3 * HOUR, true, T0 + MINUTE);
    let keep = schedule(&d.path, conv, T0 + 3 * HOUR, false, T0 + MINUTE);
    let already_due = schedule(&d.path, conv, T0 + 30 * MINUTE, true, T0 + MINUTE);
    let after = schedule(&d.path, conv, T0 + 4 * HOUR, true, T0 + 2 * HOUR);
    // The customer writes at T0 + 1 h; sync brings it in at T0 + 1 h 5 min.
    store_mail(
        &mut d.store,
        &mail("o2@x", "anna@example.test", SHOP, T0 + HOUR, &["o1@x"]),
        T0 + HOUR + 5 * MINUTE,
    );
    assert_eq!(
        outbox_state(&d.path, cancel),
        (
            "cancelled".to_string(),
            Some(CANCELLED_BY_CUSTOMER.to_string())
        )
    );
    assert_eq!(outbox_state(&d.path, keep), ("queued".to_string(), None));
    assert_eq!(
        outbox_state(&d.path, already_due),
        ("queued".to_string(), None)
    );
    assert_eq!(outbox_state(&d.path, after), ("queued".to_string(), None));
    let events = d.store.events_of("outbox", cancel).expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].action.as_str(), events[0].actor.as_str()),
        ("cancelled", "system")
    );
    assert!(
        d.store
            .events_of("outbox", keep)
            .expect("events")
            .is_empty()
    );
}

/// The same cancellation happens on the chat path.
#[test]
fn scheduled_reply_cancelled_by_a_chat_line() {
    let mut d = db();
    let conv = store_chat(&mut d.store, vec![wa_line(0, "Anna", "hello")], T0);
    let cancel = schedule(&d.path, conv, T0 + 3 * HOUR, true, T0 + MINUTE);
    store_chat(
        &mut d.store,
        vec![
            wa_line(0, "Anna", "hello"),
            wa_line(30, "Anna", "still there?"),
        ],
        T0 + HOUR,
    );
    assert_eq!(outbox_state(&d.path, cancel).0, "cancelled");
}

/// Templates: saved per language, replaced in place, refused with the variable's name
/// when it is unknown, deleted per language or whole.
#[test]
fn templates_are_checked_when_saved() {
    let mut d = db();
    let s = &mut d.store;
    assert_eq!(
        s.save_template(
            "shipped",
            "pl",
            Some("Zamówienie {{order.number}}"),
            "Cześć {{customer.first_name}}!",
            "Dana",
            T0
        )
        .expect("pl"),
        Saved::Added
    );
    assert_eq!(
        s.save_template(
            "shipped",
            "he-IL",
            None,
            "שלום {{customer.first_name}}",
            "Dana",
            T0
        )
        .expect("he"),
        Saved::Added
    );
    assert_eq!(
        s.save_template(
            "shipped",
            "pl",
            None,
            "Dzień dobry {{customer.name}}",
            "Dana",
            T0 + 1
        )
        .expect("pl again"),
        Saved::Updated
    );
    let versions = s.template_versions("shipped").expect("versions");
    let langs: Vec<&str> = versions.iter().map(|t| t.language.as_str()).collect();
    assert_eq!(langs, ["he", "pl"]);
    assert_eq!(versions[1].body, "Dzień dobry {{customer.name}}");
    assert_eq!(versions[1].subject, None);

    let err = s
        .save_template("bad", "en", None, "Hi {{customer.frist_name}}", "Dana", T0)
        .expect_err("unknown variable");
    let msg = err.to_string();
    assert!(
        msg.contains("customer.frist_name")
            && msg.contains("customer.first_name")
            && msg.contains("column 4"),
        "{msg}"
    );
    assert!(
        s.save_template("bad", "en", Some("{{order.numbr}}"), "ok", "Dana", T0)
            .is_err()
    );
    assert!(
        s.save_template("bad", "english!", None, "ok", "Dana", T0)
            .is_err()
    );
    assert!(s.save_template("  ", "en", None, "ok", "Dana", T0).is_err());
    assert!(
        matches!(
            s.template_versions("bad"),
            Err(StoreError::NotFoundByName { .. })
        ),
        "nothing was saved"
    );

    assert_eq!(
        s.delete_template("shipped", Some("he"), "Dana", T0)
            .expect("delete he"),
        1
    );
    assert_eq!(s.templates().expect("list").len(), 1);
    assert!(
        s.delete_template("shipped", Some("ar"), "Dana", T0)
            .is_err()
    );
    assert_eq!(
        s.delete_template("shipped", None, "Dana", T0)
            .expect("delete all"),
        1
    );
    assert!(s.templates().expect("list").is_empty());
}
