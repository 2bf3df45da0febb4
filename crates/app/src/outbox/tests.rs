use super::*;
use crate::{ChatImportOptions, ChatSource, FixedHost};
use shopdesk_mailbox::{FlagChange, Folder, FolderStatus, MailboxError, RemoteMessage, Wake};
use shopdesk_outbound::SendError;
use shopdesk_store::Stored;
use std::path::Path;

const NOW: Millis = 1_764_590_400_000;

fn app(dir: &Path) -> App {
    let host = FixedHost {
        now: NOW,
        tz: jiff::tz::TimeZone::UTC,
    };
    App::open(&dir.join("s.db"), host).expect("app")
}

fn account() -> Account {
    Account {
        id: 0,
        name: "shop".into(),
        email: "hello@shop.test".into(),
        aliases: vec![],
        display_name: Some("Sunflower Shop".into()),
        username: "hello@shop.test".into(),
        imap_host: "127.0.0.1".into(),
        imap_port: 143,
        imap_tls: shopdesk_core::TlsMode::None,
        smtp_host: "127.0.0.1".into(),
        smtp_port: 25,
        smtp_tls: shopdesk_core::TlsMode::None,
        ca_file: None,
        folders: vec![],
        signature: Some("Sunflower Shop".into()),
    }
}

const CUSTOMER_MAIL: &str = "From: Anna <anna@example.test>\r\nReply-To: anna.k@example.test\r\nTo: hello@shop.test\r\n\
Subject: Order 1042\r\nMessage-ID: <c2@example.test>\r\nReferences: <c1@example.test>\r\n\
Date: Sun, 30 Nov 2025 10:00:00 +0000\r\n\r\nWhere is my parcel?\r\n";

/// An app with the account and the customer's email: returns (app, account, conversation).
fn shop(dir: &Path) -> (App, Account, ConversationId) {
    let mut app = app(dir);
    let secrets = crate::MemorySecrets::default();
    app.add_account(&account(), "pw", &secrets)
        .expect("account");
    let eml = dir.join("c.eml");
    std::fs::write(&eml, CUSTOMER_MAIL).expect("write");
    app.import_mail(&eml, &[], |_| {}).expect("import");
    let account = app.account("shop").expect("account");
    let conversation = app
        .conversations(&Default::default())
        .expect("conversations")[0]
        .id;
    (app, account, conversation)
}

fn draft(text: &str) -> ReplyDraft {
    ReplyDraft {
        body_text: text.into(),
        cancel_on_reply: true,
        ..ReplyDraft::default()
    }
}

#[derive(Default)]
struct FakeSender {
    sent: Vec<(String, Vec<String>, Vec<u8>)>,
    fail: Option<SendError>,
}

impl MailSender for FakeSender {
    fn send(
        &mut self,
        from: &str,
        to: &[String],
        raw: &[u8],
    ) -> std::result::Result<(), SendError> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        self.sent.push((from.to_owned(), to.to_vec(), raw.to_vec()));
        Ok(())
    }
}

/// A mailbox with INBOX and Sent holding raw messages.
#[derive(Default)]
struct FakeMailbox {
    inbox: Vec<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

fn unsupported() -> MailboxError {
    MailboxError::Server {
        command: "test".into(),
        message: "not in the fake".into(),
    }
}

impl RemoteMailbox for FakeMailbox {
    fn folders(&mut self) -> shopdesk_mailbox::Result<Vec<Folder>> {
        Ok(vec![
            Folder {
                name: "INBOX".into(),
                role: FolderRole::Inbox,
            },
            Folder {
                name: "Sent".into(),
                role: FolderRole::Sent,
            },
        ])
    }
    fn select(&mut self, _: &str) -> shopdesk_mailbox::Result<FolderStatus> {
        Err(unsupported())
    }
    fn uids_from(&mut self, _: u32) -> shopdesk_mailbox::Result<Vec<u32>> {
        Err(unsupported())
    }
    fn fetch(&mut self, _: &[u32]) -> shopdesk_mailbox::Result<Vec<RemoteMessage>> {
        Err(unsupported())
    }
    fn flag_changes(&mut self, _: Option<u64>) -> shopdesk_mailbox::Result<Vec<FlagChange>> {
        Err(unsupported())
    }
    fn wait_for_change(&mut self, _: Duration) -> shopdesk_mailbox::Result<Wake> {
        Err(unsupported())
    }
    fn append(&mut self, folder: &str, _: &[&str], raw: &[u8]) -> shopdesk_mailbox::Result<()> {
        assert_eq!(folder, "Sent");
        self.sent.push(raw.to_vec());
        Ok(())
    }
    fn find_message_id(&mut self, folder: &str, id: &str) -> shopdesk_mailbox::Result<Option<u32>> {
        let list = if folder == "Sent" {
            &self.sent
        } else {
            &self.inbox
        };
        Ok(list
            .iter()
            .position(|raw| parse_email(raw).message_id.as_deref() == Some(id))
            .map(|i| i as u32 + 1))
    }
}

/// A queued reply is on the conversation's timeline at once (outgoing, delivery
/// `queued`), answers the customer's Reply-To, and threads under their message.
#[test]
fn reply_is_queued_and_shown_in_the_conversation() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, account, conversation) = shop(dir.path());
    let entry = app
        .reply(conversation, &draft("It left today."))
        .expect("reply");
    assert_eq!(entry.state, OutboxState::Queued);
    assert_eq!(entry.account_id, account.id);
    assert_eq!(entry.conversation_id, Some(conversation));
    let messages = app.messages(conversation).expect("messages");
    assert_eq!(messages.len(), 2);
    let reply = &messages[1];
    assert_eq!(reply.direction, shopdesk_core::Direction::Out);
    assert_eq!(reply.delivery.as_deref(), Some("queued"));
    assert_eq!(
        reply.rfc_message_id.as_deref(),
        Some(entry.rfc_message_id.as_str())
    );
    let raw = app.store.outbox_raw(entry.id).expect("raw");
    let p = parse_email(&raw);
    assert_eq!(p.to[0].email, "anna.k@example.test");
    assert_eq!(p.in_reply_to, vec!["c2@example.test".to_owned()]);
    assert_eq!(
        p.references,
        vec!["c1@example.test".to_owned(), "c2@example.test".to_owned()]
    );
    assert_eq!(p.subject.as_deref(), Some("Re: Order 1042"));
}

/// Delivery sends the stored bytes once (with the receipt copy to the shop's own
/// address in the envelope), records sent, and APPENDs the same bytes to Sent; storing
/// that copy as sync does is a duplicate of the reply.
#[test]
fn delivery_sends_once_and_the_sent_copy_is_a_duplicate() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, account, conversation) = shop(dir.path());
    let entry = app
        .reply(conversation, &draft("It left today."))
        .expect("reply");
    let mut sender = FakeSender::default();
    let mut mailbox = FakeMailbox::default();
    let report = app
        .deliver_due(&account, &mut sender, Some(&mut mailbox), NOW)
        .expect("deliver");
    assert_eq!(report.sent, vec![entry.id]);
    assert_eq!(sender.sent.len(), 1);
    assert_eq!(
        sender.sent[0].1,
        vec![
            "anna.k@example.test".to_owned(),
            "hello@shop.test".to_owned()
        ]
    );
    assert_eq!(mailbox.sent, vec![sender.sent[0].2.clone()]);
    assert_eq!(app.outbox().expect("outbox")[0].state, OutboxState::Sent);
    assert_eq!(
        app.messages(conversation).expect("messages")[1]
            .delivery
            .as_deref(),
        Some("sent")
    );

    let again = app
        .deliver_due(&account, &mut sender, Some(&mut mailbox), NOW + 60_000)
        .expect("again");
    assert!(again.sent.is_empty() && sender.sent.len() == 1, "{again:?}");

    let parsed = parse_email(&mailbox.sent[0]);
    let key = source_key(&parsed);
    let own = app.store.own_addresses().expect("own");
    let location = EmailLocation::Imap {
        account_id: account.id,
        folder: "Sent".into(),
        uidvalidity: 1,
        uid: 1,
        flags: String::new(),
    };
    let stored = app
        .store
        .store_email(
            &EmailInput {
                parsed: &parsed,
                source_key: &key,
                own_addresses: &own,
                location,
            },
            NOW,
        )
        .expect("store");
    assert!(matches!(stored, Stored::Duplicate { .. }), "{stored:?}");
    assert_eq!(app.messages(conversation).expect("messages").len(), 2);
}

/// A transient failure keeps the entry queued with the server's answer and a backoff; a
/// permanent one marks it failed; retry queues it for now.
#[test]
fn failures_keep_the_answer_and_back_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, account, conversation) = shop(dir.path());
    let entry = app.reply(conversation, &draft("x")).expect("reply");
    let mut sender = FakeSender {
        fail: Some(SendError {
            permanent: false,
            message: "421 try later".into(),
        }),
        ..FakeSender::default()
    };
    let report = app
        .deliver_due(&account, &mut sender, None, NOW)
        .expect("deliver");
    assert_eq!(report.failed[0].state, OutboxState::Queued);
    let e = app.store.outbox_entry(entry.id).expect("entry");
    assert_eq!(
        (e.state, e.attempts, e.last_error.as_deref()),
        (OutboxState::Queued, 1, Some("421 try later"))
    );
    assert_eq!(e.next_attempt_at, Some(NOW + 30_000));
    assert_eq!(report.next_due, Some(NOW + 30_000));
    // Not due yet: nothing is attempted.
    assert!(
        app.deliver_due(&account, &mut sender, None, NOW + 10_000)
            .expect("early")
            .failed
            .is_empty()
    );

    sender.fail = Some(SendError {
        permanent: true,
        message: "550 no such user".into(),
    });
    let report = app
        .deliver_due(&account, &mut sender, None, NOW + 30_000)
        .expect("deliver");
    assert_eq!(report.failed[0].state, OutboxState::Failed);
    assert_eq!(
        app.store
            .outbox_entry(entry.id)
            .expect("entry")
            .last_error
            .as_deref(),
        Some("550 no such user")
    );

    sender.fail = None;
    app.retry_outbox(entry.id).expect("retry");
    let report = app
        .deliver_due(&account, &mut sender, None, NOW + 31_000)
        .expect("deliver");
    assert_eq!(report.sent, vec![entry.id]);
    assert!(
        report.problems.iter().any(|p| p.contains("no Sent folder")),
        "{report:?}"
    );
}

/// An entry a crash left `sending` is not sent again when its Message-ID is found (the
/// receipt copy in INBOX); when it is found nowhere, after a grace period for the
/// server's copy to arrive, it is sent.
#[test]
fn interrupted_entries_are_checked_before_sending_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, account, conversation) = shop(dir.path());
    let a = app.reply(conversation, &draft("first")).expect("a");
    let b = app.reply(conversation, &draft("second")).expect("b");
    assert!(app.store.outbox_claim(a.id, NOW).expect("claim a"));
    assert!(app.store.outbox_claim(b.id, NOW).expect("claim b"));
    let mut mailbox = FakeMailbox {
        inbox: vec![app.store.outbox_raw(a.id).expect("raw")],
        ..FakeMailbox::default()
    };
    let mut sender = FakeSender::default();
    // Without IMAP nothing can be checked: neither is sent.
    let report = app
        .deliver_due(&account, &mut sender, None, NOW)
        .expect("no imap");
    assert!(
        sender.sent.is_empty() && report.problems.len() == 2,
        "{report:?}"
    );
    // b's copy may still be on its way: within the grace period it is not sent again.
    let report = app
        .deliver_due(&account, &mut sender, Some(&mut mailbox), NOW + 1000)
        .expect("deliver");
    assert_eq!(report.recovered, vec![a.id]);
    assert!(
        report.sent.is_empty() && sender.sent.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.next_due, Some(NOW + RECOVERY_GRACE));
    let report = app
        .deliver_due(
            &account,
            &mut sender,
            Some(&mut mailbox),
            NOW + RECOVERY_GRACE,
        )
        .expect("deliver");
    assert_eq!(report.sent, vec![b.id]);
    assert_eq!(sender.sent.len(), 1);
    assert_eq!(
        parse_email(&sender.sent[0].2).message_id.as_deref(),
        Some(b.rfc_message_id.as_str())
    );
}

/// Send later waits for its time; the customer writing first cancels it (unless the user
/// said otherwise); cancel works only before sending.
#[test]
fn send_later_and_cancel() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, account, conversation) = shop(dir.path());
    let later = app
        .reply(
            conversation,
            &ReplyDraft {
                send_after: Some(NOW + 3_600_000),
                ..draft("later")
            },
        )
        .expect("later");
    let keep = app
        .reply(
            conversation,
            &ReplyDraft {
                send_after: Some(NOW + 3_600_000),
                cancel_on_reply: false,
                ..draft("keep")
            },
        )
        .expect("keep");
    let mut sender = FakeSender::default();
    let report = app
        .deliver_due(&account, &mut sender, None, NOW)
        .expect("deliver");
    assert!(report.sent.is_empty());
    assert_eq!(report.next_due, Some(NOW + 3_600_000));
    assert_eq!(
        app.store
            .customer_wrote(conversation, NOW + 1000, NOW + 1000)
            .expect("cancel"),
        vec![later.id]
    );
    assert_eq!(
        app.store.outbox_entry(later.id).expect("e").state,
        OutboxState::Cancelled
    );
    let report = app
        .deliver_due(&account, &mut sender, None, NOW + 3_600_000)
        .expect("deliver");
    assert_eq!(report.sent, vec![keep.id]);
    let err = app.cancel_outbox(keep.id).expect_err("sent already");
    assert_eq!(err.code, ErrorCode::Refused);
}

/// A vanished attachment, an injected subject or a chat conversation are clear errors
/// and nothing is queued or shown.
#[test]
fn bad_input_queues_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut app, _account, conversation) = shop(dir.path());
    let gone = ReplyDraft {
        attachments: vec![dir.path().join("gone.pdf")],
        ..draft("see attached")
    };
    let err = app.reply(conversation, &gone).expect_err("vanished");
    assert!(
        err.code == ErrorCode::InvalidInput && err.message.contains("gone.pdf"),
        "{err:?}"
    );
    let injected = ReplyDraft {
        subject: Some("Hi\r\nBcc: x@y.test".into()),
        ..draft("x")
    };
    let err = app.reply(conversation, &injected).expect_err("injection");
    assert!(err.message.contains("line break"), "{err:?}");
    assert!(app.reply(conversation, &draft("  ")).is_err());
    assert!(app.outbox().expect("outbox").is_empty());
    assert_eq!(app.messages(conversation).expect("messages").len(), 1);
}

/// A chat reply sent by hand is logged as outgoing and marked so; a WhatsApp link uses
/// the customer's E.164 digits and the encoded text.
#[test]
fn chat_reply_is_logged_with_a_wa_me_link() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = app(dir.path());
    let chat = dir.path().join("chat.txt");
    std::fs::write(
        &chat,
        "15/01/2024, 10:00 - +972 50-123-4567: Hello, is it in stock?\n",
    )
    .expect("write");
    let options = ChatImportOptions {
        me: vec!["Shop".into()],
        date_order: None,
    };
    app.import_chat(ChatSource::Whatsapp, &chat, &options, |_| {})
        .expect("import");
    let conversation = app
        .conversations(&Default::default())
        .expect("conversations")[0]
        .id;
    let (id, link) = app
        .log_chat_reply(conversation, "Yes! שלום & 100%", "whatsapp")
        .expect("log");
    assert_eq!(
        link.as_deref(),
        Some("https://wa.me/972501234567?text=Yes%21%20%D7%A9%D7%9C%D7%95%D7%9D%20%26%20100%25")
    );
    let messages = app.messages(conversation).expect("messages");
    let logged = messages.iter().find(|m| m.id == id).expect("logged");
    assert!(logged.sent_by_hand);
    assert_eq!(logged.direction, shopdesk_core::Direction::Out);
    assert_eq!(logged.channel, Channel::Whatsapp);
    assert!(app.log_chat_reply(conversation, "again", "copy").is_ok());
    assert!(app.log_chat_reply(conversation, "x", "sms").is_err());
}

/// With nothing queued the loop runs once and then sleeps (no polling: one report while
/// it waits); a wake runs it again; dropping the sender ends it.
#[test]
fn delivery_loop_sleeps_until_woken() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut app = app(dir.path());
    let (wake, wait) = std::sync::mpsc::channel();
    let (reports_tx, reports) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let secrets = crate::MemorySecrets::default();
        app.delivery_loop(
            &secrets,
            &wait,
            Duration::from_secs(3600),
            &mut |r| {
                let _ = reports_tx.send(r.clone());
            },
            &mut |e| panic!("{e}"),
        );
    });
    let first = reports
        .recv_timeout(Duration::from_secs(5))
        .expect("first run");
    assert_eq!(first, DeliveryReport::default());
    assert!(
        reports.recv_timeout(Duration::from_millis(300)).is_err(),
        "ran again without a reason"
    );
    wake.send(()).expect("wake");
    reports
        .recv_timeout(Duration::from_secs(5))
        .expect("woken run");
    drop(wake);
    handle.join().expect("loop ended");
}
