//! `reply`, `outbox`, `deliver` and `chat-reply`: answering customers.

use anyhow::Context;
use clap::{Args, Subcommand};
use shopdesk_app::{App, DeliveryReport, OsKeyring, OutboxEntry, ReplyDraft, SystemHost};
use shopdesk_core::ConversationId;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct ReplyArgs {
    /// The conversation to answer (an email conversation)
    conversation: i64,
    /// The reply's plain text (UTF-8)
    #[arg(long, value_name = "FILE")]
    body_file: PathBuf,
    /// An HTML version of the same reply
    #[arg(long, value_name = "FILE")]
    html_file: Option<PathBuf>,
    /// A file to attach (repeatable)
    #[arg(long = "attach", value_name = "FILE")]
    attach: Vec<PathBuf>,
    /// Send later: not before this time (RFC 3339, e.g. 2026-12-01T09:00:00+02:00)
    #[arg(long, value_name = "RFC3339")]
    send_at: Option<String>,
    /// Keep a send-later reply even if the customer writes first
    #[arg(long)]
    keep_on_reply: bool,
    /// A subject instead of `Re: ` + the conversation's
    #[arg(long)]
    subject: Option<String>,
    /// Send from this account [default: the one the customer wrote to]
    #[arg(long)]
    account: Option<String>,
    /// Only queue it; `shopdesk deliver` (or the app) sends it
    #[arg(long)]
    no_wait: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    action: Option<OutboxAction>,
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum OutboxAction {
    /// Queue a failed (or waiting) reply for an attempt now
    Retry { id: i64 },
    /// Cancel a reply not yet sent
    Cancel { id: i64 },
}

#[derive(Args)]
pub struct DeliverArgs {
    /// One delivery run, then exit
    #[arg(long)]
    once: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ChatReplyArgs {
    /// The chat conversation answered
    conversation: i64,
    /// What was (or will be) sent in the chat app
    #[arg(long)]
    text: String,
    /// Print a wa.me link that opens WhatsApp with the text
    #[arg(long)]
    whatsapp: bool,
    #[arg(long)]
    json: bool,
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn reply(db: &Path, a: ReplyArgs) -> anyhow::Result<()> {
    let mut app = App::open(db, SystemHost)?;
    let send_after = match &a.send_at {
        Some(s) => Some(
            s.parse::<jiff::Timestamp>()
                .with_context(|| {
                    format!("--send-at {s:?}: expected RFC 3339, e.g. 2026-12-01T09:00:00+02:00")
                })?
                .as_millisecond(),
        ),
        None => None,
    };
    let draft = ReplyDraft {
        body_text: read_text(&a.body_file)?,
        body_html: a.html_file.as_deref().map(read_text).transpose()?,
        attachments: a.attach,
        send_after,
        cancel_on_reply: !a.keep_on_reply,
        subject: a.subject,
        account: a.account,
    };
    let mut entry = app.reply(ConversationId(a.conversation), &draft)?;
    if !a.no_wait && send_after.is_none() {
        let report = app.deliver(&OsKeyring)?;
        for p in &report.problems {
            eprintln!("shopdesk: {p}");
        }
        entry = app
            .outbox()?
            .into_iter()
            .find(|e| e.id == entry.id)
            .unwrap_or(entry);
    }
    if a.json {
        return print_json(&entry);
    }
    print_entry(&entry)?;
    Ok(())
}

fn print_entry(e: &OutboxEntry) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "{:>5}  {:<9} attempts {}  <{}>",
        e.id,
        e.state.as_str(),
        e.attempts,
        e.rfc_message_id
    )?;
    if let Some(err) = &e.last_error {
        write!(out, "  last error: {err}")?;
    }
    writeln!(out)?;
    Ok(())
}

pub fn outbox(db: &Path, a: OutboxArgs) -> anyhow::Result<()> {
    let mut app = App::open(db, SystemHost)?;
    let entries = match a.action {
        Some(OutboxAction::Retry { id }) => vec![app.retry_outbox(id)?],
        Some(OutboxAction::Cancel { id }) => vec![app.cancel_outbox(id)?],
        None => app.outbox()?,
    };
    if a.json {
        return print_json(&entries);
    }
    for e in &entries {
        print_entry(e)?;
    }
    Ok(())
}

fn print_report(report: &DeliveryReport, json: bool) {
    if json {
        let mut out = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut out, report);
        let _ = writeln!(out);
        let _ = out.flush();
        return;
    }
    println!(
        "sent {}, recovered {}, failed {}",
        report.sent.len(),
        report.recovered.len(),
        report.failed.len()
    );
    for f in &report.failed {
        println!("  {}: {} ({})", f.id, f.error, f.state.as_str());
    }
    for p in &report.problems {
        println!("  {p}");
    }
}

pub fn deliver(db: &Path, a: DeliverArgs) -> anyhow::Result<()> {
    let mut app = App::open(db, SystemHost)?;
    if a.once {
        let report = app.deliver(&OsKeyring)?;
        print_report(&report, a.json);
        return Ok(());
    }
    // Nothing else wakes this process: it sleeps until the next entry is due, and looks
    // for replies queued by other processes every minute.
    let (_wake, wait) = std::sync::mpsc::channel();
    app.delivery_loop(
        &OsKeyring,
        &wait,
        Duration::from_secs(60),
        &mut |r| print_report(r, a.json),
        &mut |e| eprintln!("shopdesk: delivery: {e}"),
    );
    Ok(())
}

pub fn chat_reply(db: &Path, a: ChatReplyArgs) -> anyhow::Result<()> {
    let mut app = App::open(db, SystemHost)?;
    let how = if a.whatsapp { "whatsapp" } else { "copy" };
    let (message, link) = app.log_chat_reply(ConversationId(a.conversation), &a.text, how)?;
    if a.json {
        return print_json(&serde_json::json!({"message": message, "link": link}));
    }
    println!("logged message {message}");
    if let Some(link) = link {
        println!("{link}");
    }
    Ok(())
}
