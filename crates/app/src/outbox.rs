//! Replying: by email through the outbox (queued at once, delivered by
//! [`App::deliver_due`] or the background [`App::delivery_loop`]), and in chats by hand.
//!
//! Exactly once: the reply's bytes and final Message-ID are committed, with its timeline
//! row, before any network call. Delivery claims an entry (`sending`), hands it to SMTP,
//! records `sent`, then APPENDs the copy to Sent. The SMTP envelope also carries the
//! account's own address (not in any header), so the server drops a receipt copy in the
//! shop's INBOX exactly when it accepted the message: after a crash between "accepted"
//! and "recorded", an entry still `sending` is looked up by Message-ID in INBOX and Sent
//! (servers that file sent mail themselves put it there) and marked sent when found,
//! sent again only when not. Both copies are the same bytes, so sync stores them as
//! duplicates of the reply, never as new messages.
//!
//! Test hook: with `SHOPDESK_TEST_CRASH_AFTER_SMTP=1` in the environment the process
//! exits with status 137 right after the server accepted a message and before it is
//! recorded as sent (the acceptance tests use it to simulate a crash in that window).

use crate::secrets::SecretStore;
use crate::{App, AppError, ErrorCode, Result};
use serde::Serialize;
use shopdesk_core::{Channel, ConversationId, MessageId, Millis};
use shopdesk_ingest::mail::{parse_email, source_key};
use shopdesk_mailbox::{FolderRole, ImapMailbox, RemoteMailbox};
use shopdesk_outbound::{
    ComposeError, MailSender, OutAttachment, Party, ReplyInput, SmtpSender, SmtpSettings,
    compose_reply,
};
use shopdesk_store::{Account, EmailInput, EmailLocation, NewOutbound, OutboxEntry, OutboxState};
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long after an interrupted attempt its Message-ID is looked for before it counts as
/// not delivered: the server files its receipt copy within seconds of accepting.
const RECOVERY_GRACE: Millis = 60_000;

fn earliest(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Environment variable of the crash test hook (see the module docs).
pub const CRASH_AFTER_SMTP_ENV: &str = "SHOPDESK_TEST_CRASH_AFTER_SMTP";

/// A reply as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ReplyDraft {
    pub body_text: String,
    pub body_html: Option<String>,
    /// Files to attach; read when the reply is queued.
    pub attachments: Vec<PathBuf>,
    /// Send later: not before this time.
    pub send_after: Option<Millis>,
    /// Cancel a send-later reply when the customer writes first.
    pub cancel_on_reply: bool,
    /// Instead of `Re: ` + the conversation's subject.
    pub subject: Option<String>,
    /// The account to send from (its name); default: the one the customer wrote to.
    pub account: Option<String>,
}

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Outbox ids the server accepted in this run.
    pub sent: Vec<i64>,
    /// Entries left `sending` by a crash and found already delivered (not sent again).
    pub recovered: Vec<i64>,
    /// Attempts that failed, with the server's answer.
    pub failed: Vec<FailedAttempt>,
    /// Things that did not stop delivery but need attention (e.g. APPEND to Sent failed).
    pub problems: Vec<String>,
    /// When the next queued entry becomes due.
    #[serde(serialize_with = "crate::outbox::ser_opt_time")]
    pub next_due: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAttempt {
    pub id: i64,
    pub error: String,
    pub permanent: bool,
    /// `queued` (retried later) or `failed`.
    pub state: OutboxState,
}

pub(crate) fn ser_opt_time<S: serde::Serializer>(
    ms: &Option<Millis>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()) {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

impl From<ComposeError> for AppError {
    fn from(e: ComposeError) -> AppError {
        invalid(e.to_string())
    }
}

/// 128 random bits for the Message-ID and MIME boundaries: std's per-process random hash
/// keys mixed with the time, so two replies in one millisecond still differ.
fn random_bits(now: Millis) -> u128 {
    let mut out = 0u128;
    for salt in [0u64, 1] {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(now);
        h.write_u64(salt);
        h.write_u32(std::process::id());
        out = (out << 64) | u128::from(h.finish());
    }
    out
}

/// A file's MIME type by its extension (what mail clients go by when opening it).
fn mime_type(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

impl App {
    /// Queues an email reply to `conversation` and returns at once: the reply is on the
    /// timeline (delivery `queued`) when this returns. Nothing is queued when an address
    /// is invalid, a header would be injected or an attachment cannot be read.
    pub fn reply(
        &mut self,
        conversation: ConversationId,
        draft: &ReplyDraft,
    ) -> Result<OutboxEntry> {
        let ctx = self.store.reply_context(conversation)?;
        if ctx.channel != Some(Channel::Email) {
            let channel = ctx.channel.map_or("unknown", |c| c.as_str());
            return Err(invalid(format!(
                "conversation {} is a {channel} chat; answer it in the app and log it with chat-reply",
                conversation.0
            )));
        }
        if draft.body_text.trim().is_empty()
            && draft
                .body_html
                .as_deref()
                .is_none_or(|h| h.trim().is_empty())
        {
            return Err(invalid("the reply is empty"));
        }
        let account = self.reply_account(draft.account.as_deref(), ctx.account_id)?;
        let customer = ctx.customer_email.clone().ok_or_else(|| {
            invalid(format!(
                "conversation {} has no customer address to reply to",
                conversation.0
            ))
        })?;
        let mut attachments = Vec::with_capacity(draft.attachments.len());
        for path in &draft.attachments {
            let data = std::fs::read(path).map_err(|e| {
                invalid(format!(
                    "attachment {} cannot be read ({e}); nothing was queued",
                    path.display()
                ))
            })?;
            let filename = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "attachment".to_owned());
            attachments.push(OutAttachment {
                filename,
                mime_type: mime_type(path).to_owned(),
                data,
            });
        }
        let now = self.host.now();
        let input = ReplyInput {
            from: Party {
                name: account.display_name.clone(),
                email: account.email.clone(),
            },
            to: vec![Party {
                name: ctx.customer_name.clone(),
                email: customer,
            }],
            original_subject: ctx.subject.as_deref(),
            subject: draft.subject.as_deref(),
            parent_id: ctx.parent_message_id.as_deref(),
            parent_references: &ctx.parent_references,
            body_text: &draft.body_text,
            body_html: draft.body_html.as_deref(),
            signature: account.signature.as_deref(),
            attachments: &attachments,
            date: now,
            random: random_bits(now),
        };
        let composed = compose_reply(&input)?;
        let parsed = parse_email(&composed.raw);
        let key = source_key(&parsed);
        let own = self.store.own_addresses()?;
        let entry = self.store.enqueue_outbound(
            &NewOutbound {
                account_id: account.id,
                conversation,
                rfc_message_id: &composed.message_id,
                raw: &composed.raw,
                send_after: draft.send_after.filter(|t| *t > now),
                cancel_on_reply: draft.cancel_on_reply,
                email: EmailInput {
                    parsed: &parsed,
                    source_key: &key,
                    own_addresses: &own,
                    location: EmailLocation::Outbox,
                },
            },
            now,
        )?;
        Ok(entry)
    }

    fn reply_account(&self, name: Option<&str>, received_by: Option<i64>) -> Result<Account> {
        let accounts = self.store.accounts()?;
        if let Some(name) = name {
            return Ok(self.store.account(name)?);
        }
        if let Some(a) = received_by.and_then(|id| accounts.iter().find(|a| a.id == id)) {
            return Ok(a.clone());
        }
        match accounts.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(invalid(
                "no mail account is configured; add one with `shopdesk account add`",
            )),
            _ => Err(invalid(
                "several accounts could send this reply; choose one with --account",
            )),
        }
    }

    /// The outbox, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        Ok(self.store.outbox()?)
    }

    /// Queues a failed (or waiting) entry for an attempt now.
    pub fn retry_outbox(&mut self, id: i64) -> Result<OutboxEntry> {
        Ok(self.store.outbox_retry(id, self.host.now())?)
    }

    /// Cancels an entry not yet handed to a server.
    pub fn cancel_outbox(&mut self, id: i64) -> Result<OutboxEntry> {
        Ok(self.store.outbox_cancel(id)?)
    }

    /// How to reach `account`'s SMTP server, with the password from `secrets`.
    pub fn smtp_settings(
        &self,
        account: &Account,
        secrets: &dyn SecretStore,
    ) -> Result<SmtpSettings> {
        let password = secrets.get(&account.name)?.ok_or_else(|| {
            AppError::new(
                ErrorCode::Keyring,
                format!(
                    "no password for account {:?} in the keyring; add the account again",
                    account.name
                ),
            )
        })?;
        Ok(smtp_settings_with(account, password))
    }

    /// Delivers `account`'s due entries through `sender`, after settling entries a crash
    /// left `sending` (looked up in `mailbox`). Without a mailbox (IMAP unreachable)
    /// sending goes on, copies to Sent are skipped (reported) and crashed entries wait
    /// for a run that can check.
    ///
    /// Meant to be the only delivery run on this database at a time: an entry `sending`
    /// when it starts is taken as left behind by a crash.
    pub fn deliver_due(
        &mut self,
        account: &Account,
        sender: &mut dyn MailSender,
        mut mailbox: Option<&mut dyn RemoteMailbox>,
        now: Millis,
    ) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        let folders = match mailbox.as_deref_mut() {
            Some(m) => match m.folders() {
                Ok(f) => Some(f),
                Err(e) => {
                    report
                        .problems
                        .push(format!("{}: cannot list folders: {e}", account.name));
                    None
                }
            },
            None => None,
        };
        let sent_folder = folders
            .as_ref()
            .and_then(|f| f.iter().find(|f| f.role == FolderRole::Sent))
            .map(|f| f.name.clone());
        let inbox = folders
            .as_ref()
            .and_then(|f| f.iter().find(|f| f.role == FolderRole::Inbox))
            .map(|f| f.name.clone());

        let mut recheck_at: Option<Millis> = None;
        for entry in self
            .store
            .outbox_in_state(OutboxState::Sending)?
            .into_iter()
            .filter(|e| e.account_id == account.id)
        {
            let Some(m) = mailbox.as_deref_mut().filter(|_| folders.is_some()) else {
                report.problems.push(format!("outbox {}: interrupted while sending; waiting for IMAP to check whether it went out", entry.id));
                continue;
            };
            let mut found = false;
            for folder in inbox.iter().chain(sent_folder.iter()) {
                match m.find_message_id(folder, &entry.rfc_message_id) {
                    Ok(Some(_)) => found = true,
                    Ok(None) => {}
                    Err(e) => report
                        .problems
                        .push(format!("outbox {}: searching {folder}: {e}", entry.id)),
                }
                if found {
                    break;
                }
            }
            let claimed = entry.next_attempt_at.unwrap_or(0);
            if found {
                self.store.outbox_mark_sent(entry.id, now)?;
                report.recovered.push(entry.id);
            } else if now - claimed < RECOVERY_GRACE {
                // The server may still be filing its receipt copy: look again later
                // rather than risk sending twice.
                report.problems.push(format!(
                    "outbox {}: interrupted while sending; checking again shortly",
                    entry.id
                ));
                let at = claimed + RECOVERY_GRACE;
                recheck_at = Some(recheck_at.map_or(at, |t| t.min(at)));
            } else {
                // Not delivered: back in the queue, sent below like any due entry.
                self.store.outbox_mark_failed(
                    entry.id,
                    "interrupted before the server accepted it",
                    false,
                    now,
                )?;
                self.store.outbox_retry(entry.id, now)?;
            }
        }

        let own = account.email.clone();
        for entry in self
            .store
            .outbox_due(now)?
            .into_iter()
            .filter(|e| e.account_id == account.id)
        {
            if !self.store.outbox_claim(entry.id, now)? {
                continue;
            }
            let raw = self.store.outbox_raw(entry.id)?;
            let parsed = parse_email(&raw);
            let mut recipients: Vec<String> = parsed
                .to
                .iter()
                .chain(&parsed.cc)
                .map(|a| a.email.clone())
                .collect();
            // The receipt copy that makes crash recovery exact (module docs).
            if !recipients.iter().any(|r| r.eq_ignore_ascii_case(&own)) {
                recipients.push(own.clone());
            }
            match sender.send(&account.email, &recipients, &raw) {
                Ok(()) => {
                    if std::env::var(CRASH_AFTER_SMTP_ENV).is_ok_and(|v| v == "1") {
                        std::process::exit(137);
                    }
                    self.store.outbox_mark_sent(entry.id, self.host.now())?;
                    report.sent.push(entry.id);
                    match (mailbox.as_deref_mut(), &sent_folder) {
                        (Some(m), Some(folder)) => {
                            if let Err(e) = m.append(folder, &["\\Seen"], &raw) {
                                report.problems.push(format!(
                                    "outbox {}: sent, but the copy to {folder} failed: {e}",
                                    entry.id
                                ));
                            }
                        }
                        _ => report.problems.push(format!(
                            "outbox {}: sent, but no Sent folder was reachable for its copy",
                            entry.id
                        )),
                    }
                }
                Err(e) => {
                    let state = self.store.outbox_mark_failed(
                        entry.id,
                        &e.message,
                        e.permanent,
                        self.host.now(),
                    )?;
                    report.failed.push(FailedAttempt {
                        id: entry.id,
                        error: e.message,
                        permanent: e.permanent,
                        state,
                    });
                }
            }
        }
        report.next_due = earliest(self.store.outbox_next_due()?, recheck_at);
        Ok(report)
    }

    /// One delivery run over every account with something due or interrupted: connects
    /// to SMTP (and IMAP for Sent and recovery) with the passwords from `secrets`.
    pub fn deliver(&mut self, secrets: &dyn SecretStore) -> Result<DeliveryReport> {
        let now = self.host.now();
        let mut waiting: Vec<i64> = self
            .store
            .outbox_due(now)?
            .iter()
            .map(|e| e.account_id)
            .collect();
        waiting.extend(
            self.store
                .outbox_in_state(OutboxState::Sending)?
                .iter()
                .map(|e| e.account_id),
        );
        let mut report = DeliveryReport::default();
        for account in self
            .store
            .accounts()?
            .into_iter()
            .filter(|a| waiting.contains(&a.id))
        {
            let smtp = self.smtp_settings(&account, secrets)?;
            let mut sender = match SmtpSender::new(&smtp) {
                Ok(s) => s,
                Err(e) => {
                    report.problems.push(format!("{}: {e}", account.name));
                    continue;
                }
            };
            let mut imap = match self
                .imap_settings(&account, secrets)
                .and_then(|s| Ok(ImapMailbox::connect(&s)?))
            {
                Ok(m) => Some(m),
                Err(e) => {
                    report
                        .problems
                        .push(format!("{}: IMAP: {}", account.name, e.message));
                    None
                }
            };
            let one = self.deliver_due(
                &account,
                &mut sender,
                imap.as_mut().map(|m| m as &mut dyn RemoteMailbox),
                now,
            )?;
            if let Some(m) = imap {
                m.logout();
            }
            report.sent.extend(one.sent);
            report.recovered.extend(one.recovered);
            report.failed.extend(one.failed);
            report.problems.extend(one.problems);
            report.next_due = earliest(report.next_due, one.next_due);
        }
        report.next_due = earliest(report.next_due, self.store.outbox_next_due()?);
        Ok(report)
    }

    /// Runs delivery until `wake` is disconnected: a run now, then sleeps until the next
    /// entry is due (send later, backoff) or a message on `wake` (a reply was queued),
    /// never polling; with nothing queued it still looks every `idle_check` for replies
    /// queued by another process. `on_report` sees each run; errors of a run are reported
    /// to `on_error` and retried at the next wake-up.
    pub fn delivery_loop(
        &mut self,
        secrets: &dyn SecretStore,
        wake: &Receiver<()>,
        idle_check: Duration,
        on_report: &mut dyn FnMut(&DeliveryReport),
        on_error: &mut dyn FnMut(&AppError),
    ) {
        loop {
            let next = match self.deliver(secrets) {
                Ok(report) => {
                    on_report(&report);
                    report.next_due
                }
                Err(e) => {
                    on_error(&e);
                    Some(self.host.now() + 30_000)
                }
            };
            let wait = match next {
                Some(at) => Duration::from_millis(
                    (at - self.host.now()).clamp(0, idle_check.as_millis() as i64) as u64,
                ),
                None => idle_check,
            };
            match wake.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Logs a chat reply the user sends by hand (chat apps have no send API here): an
    /// outgoing message marked sent by hand. With `how = "whatsapp"` (or whenever the
    /// customer has a phone) also returns a `https://wa.me/<digits>?text=…` link that
    /// opens WhatsApp with the text.
    pub fn log_chat_reply(
        &mut self,
        conversation: ConversationId,
        text: &str,
        how: &str,
    ) -> Result<(MessageId, Option<String>)> {
        if text.trim().is_empty() {
            return Err(invalid("the reply is empty"));
        }
        if !matches!(how, "copy" | "whatsapp") {
            return Err(invalid(format!("{how:?}: choose copy or whatsapp")));
        }
        let ctx = self.store.reply_context(conversation)?;
        if ctx.channel == Some(Channel::Email) {
            return Err(invalid(format!(
                "conversation {} is email; send it with reply",
                conversation.0
            )));
        }
        let link = ctx
            .customer_phone
            .as_deref()
            .map(|phone| wa_me_link(phone, text));
        if how == "whatsapp" && link.is_none() {
            return Err(invalid(format!(
                "the customer of conversation {} has no phone number for a WhatsApp link",
                conversation.0
            )));
        }
        let now = self.host.now();
        let key = format!("{now}:{:032x}", random_bits(now));
        let id = self
            .store
            .log_hand_reply(conversation, text, None, &key, now)?;
        Ok((id, link))
    }
}

/// How to reach `account`'s SMTP server with `password`.
pub(crate) fn smtp_settings_with(account: &Account, password: String) -> SmtpSettings {
    SmtpSettings {
        host: account.smtp_host.clone(),
        port: account.smtp_port,
        tls: account.smtp_tls,
        username: account.username.clone(),
        password,
        ca_file: account.ca_file.as_ref().map(Into::into),
    }
}

/// `https://wa.me/<E.164 digits>?text=<percent-encoded UTF-8>`.
pub fn wa_me_link(e164: &str, text: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let mut encoded = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("https://wa.me/{digits}?text={encoded}")
}

#[cfg(test)]
mod tests;

/// The delivery loop on its own thread with its own database connection, for as long as
/// this value lives (the desktop app keeps it; dropping it stops the thread after its
/// current wait). Call [`BackgroundDelivery::wake`] after queuing a reply so it goes out
/// at once instead of at the next look.
pub struct BackgroundDelivery {
    wake: std::sync::mpsc::Sender<()>,
}

impl BackgroundDelivery {
    pub fn start(
        db: &std::path::Path,
        secrets: std::sync::Arc<dyn SecretStore>,
        on_report: impl Fn(std::result::Result<&DeliveryReport, &AppError>) + Send + 'static,
    ) -> Result<BackgroundDelivery> {
        let mut app = App::open(db, crate::SystemHost)?;
        let (wake, wait) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || {
                app.delivery_loop(
                    secrets.as_ref(),
                    &wait,
                    Duration::from_secs(60),
                    &mut |r| on_report(Ok(r)),
                    &mut |e| on_report(Err(e)),
                );
            })
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Internal,
                    format!("cannot start the delivery thread: {e}"),
                )
            })?;
        Ok(BackgroundDelivery { wake })
    }

    /// Delivers now (a reply was queued or retried).
    pub fn wake(&self) {
        let _ = self.wake.send(());
    }
}
