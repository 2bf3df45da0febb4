//! `template`, `conversation`, `note`, `notes` and `team`: saved replies and the
//! conversation workflow.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use shopdesk_app::{App, ConversationRow, NoteTarget, SnoozeUntil};
use shopdesk_core::{ConversationId, CustomerId, Priority, Status};
use std::io::Write;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Save a reply in one language (replaces that language's version); variables such as
    /// {{customer.first_name}} are checked now
    Add {
        name: String,
        /// he, ar, pl, en, …
        #[arg(long, value_name = "LANG")]
        lang: String,
        /// The body, UTF-8 text
        #[arg(long, value_name = "FILE")]
        body_file: PathBuf,
        #[arg(long, value_name = "SUBJECT")]
        subject: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every saved reply in every language
    List {
        #[arg(long)]
        json: bool,
    },
    /// Fill a saved reply for a conversation, in the customer's language
    Render {
        name: String,
        #[arg(long, value_name = "ID")]
        conversation: i64,
        #[arg(long)]
        json: bool,
    },
    /// Delete a saved reply (one language with --lang, else all)
    Delete {
        name: String,
        #[arg(long, value_name = "LANG")]
        lang: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ConversationCommand {
    /// Set open, pending or closed
    Status {
        id: i64,
        #[arg(value_parser = parse_status)]
        status: Status,
        #[arg(long)]
        json: bool,
    },
    /// Set low, normal, high or urgent
    Priority {
        id: i64,
        #[arg(value_parser = crate::parse_vocab::<Priority>)]
        priority: Priority,
        #[arg(long)]
        json: bool,
    },
    /// Add a tag (or take it off with --remove)
    Tag {
        id: i64,
        tag: String,
        #[arg(long)]
        remove: bool,
        #[arg(long)]
        json: bool,
    },
    /// Assign to a team member (id or name), or to nobody with --none
    Assign {
        id: i64,
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        member: Option<String>,
        #[arg(long)]
        none: bool,
        #[arg(long)]
        json: bool,
    },
    /// Snooze until a time or until the customer replies (a customer reply always wakes it)
    Snooze {
        id: i64,
        /// RFC 3339, `+2h`, `+3d`, `tomorrow 9:00`, `2026-12-24 18:00` (local time)
        #[arg(
            long,
            value_name = "WHEN",
            required_unless_present = "until_reply",
            conflicts_with = "until_reply"
        )]
        until: Option<String>,
        #[arg(long)]
        until_reply: bool,
        #[arg(long)]
        json: bool,
    },
    /// The conversation's change log: who changed what, when
    Events {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum NoteCommand {
    /// Add an internal note (never sent) on a customer or a conversation
    Add {
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "conversation",
            conflicts_with = "conversation"
        )]
        customer: Option<i64>,
        #[arg(long, value_name = "ID")]
        conversation: Option<i64>,
        #[arg(long, value_name = "TEXT")]
        text: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct NotesArgs {
    #[arg(long, value_name = "ID")]
    customer: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Add a team member; --me makes them the one at this laptop
    Add {
        name: String,
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        #[arg(long)]
        me: bool,
        #[arg(long)]
        json: bool,
    },
    /// The team
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a team member (id or name) the one at this laptop
    Me { member: String },
}

fn parse_status(s: &str) -> Result<Status, String> {
    match s.parse::<Status>() {
        Ok(Status::Snoozed) => {
            Err("use `conversation snooze ID --until WHEN | --until-reply`".to_owned())
        }
        Ok(status) => Ok(status),
        Err(e) => Err(e.to_string()),
    }
}

pub fn template(mut app: App, command: TemplateCommand) -> anyhow::Result<()> {
    match command {
        TemplateCommand::Add {
            name,
            lang,
            body_file,
            subject,
            json,
        } => {
            let bytes = std::fs::read(&body_file)
                .with_context(|| format!("reading {}", body_file.display()))?;
            let body = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", body_file.display()))?;
            let saved = app.save_template(&name, &lang, subject.as_deref(), &body)?;
            if json {
                crate::print_json(
                    &serde_json::json!({"name": name, "language": lang, "saved": saved}),
                )
            } else {
                let what = match saved {
                    shopdesk_app::Saved::Added => "added",
                    shopdesk_app::Saved::Updated => "updated",
                };
                println!("template {name} ({lang}) {what}");
                Ok(())
            }
        }
        TemplateCommand::List { json } => {
            let rows = app.templates()?;
            if json {
                return crate::print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for t in &rows {
                let first = t
                    .body
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                writeln!(out, "{:<24}  {:<3}  {}", t.name, t.language, first)?;
            }
            Ok(())
        }
        TemplateCommand::Render {
            name,
            conversation,
            json,
        } => {
            let r = app.render_template(&name, ConversationId(conversation))?;
            if json {
                return crate::print_json(&r);
            }
            if let Some(subject) = &r.subject {
                println!("Subject: {subject}\n");
            }
            print!("{}", r.body);
            if !r.body.ends_with('\n') {
                println!();
            }
            Ok(())
        }
        TemplateCommand::Delete { name, lang } => {
            let n = app.delete_template(&name, lang.as_deref())?;
            println!("deleted {n} version{}", if n == 1 { "" } else { "s" });
            Ok(())
        }
    }
}

fn show(row: &ConversationRow, json: bool) -> anyhow::Result<()> {
    if json {
        return crate::print_json(row);
    }
    let mut line = format!("conversation {}: {} {}", row.id, row.status, row.priority);
    if let Some(until) = row.snoozed_until {
        line.push_str(&format!(" until {}", crate::local_time(until)));
    } else if row.status == Status::Snoozed {
        line.push_str(" until the customer replies");
    }
    if let Some(a) = &row.assignee {
        line.push_str(&format!(", assigned to {a}"));
    }
    if !row.tags.is_empty() {
        line.push_str(&format!(", tags: {}", row.tags.join(", ")));
    }
    println!("{line}");
    Ok(())
}

pub fn conversation(mut app: App, command: ConversationCommand) -> anyhow::Result<()> {
    match command {
        ConversationCommand::Status { id, status, json } => show(
            &app.set_conversation_status(ConversationId(id), status)?,
            json,
        ),
        ConversationCommand::Priority { id, priority, json } => show(
            &app.set_conversation_priority(ConversationId(id), priority)?,
            json,
        ),
        ConversationCommand::Tag {
            id,
            tag,
            remove,
            json,
        } => {
            let row = if remove {
                app.untag_conversation(ConversationId(id), &tag)?
            } else {
                app.tag_conversation(ConversationId(id), &tag)?
            };
            show(&row, json)
        }
        ConversationCommand::Assign {
            id,
            member,
            none: _,
            json,
        } => show(
            &app.assign_conversation(ConversationId(id), member.as_deref())?,
            json,
        ),
        ConversationCommand::Snooze {
            id,
            until,
            until_reply: _,
            json,
        } => {
            let until = match until {
                Some(when) => SnoozeUntil::Time(app.parse_when(&when)?),
                None => SnoozeUntil::Reply,
            };
            show(&app.snooze_conversation(ConversationId(id), until)?, json)
        }
        ConversationCommand::Events { id, json } => {
            let events = app.conversation_events(ConversationId(id))?;
            if json {
                return crate::print_json(&events);
            }
            let mut out = std::io::stdout().lock();
            for e in &events {
                writeln!(
                    out,
                    "{}  {:<16}  {:<10}  {}",
                    crate::local_time(e.at),
                    e.actor,
                    e.action,
                    e.details.as_deref().unwrap_or("")
                )?;
            }
            Ok(())
        }
    }
}

pub fn note(mut app: App, command: NoteCommand) -> anyhow::Result<()> {
    match command {
        NoteCommand::Add {
            customer,
            conversation,
            text,
            json,
        } => {
            let target = match (customer, conversation) {
                (Some(c), _) => NoteTarget::Customer(CustomerId(c)),
                (None, Some(c)) => NoteTarget::Conversation(ConversationId(c)),
                (None, None) => anyhow::bail!("give --customer ID or --conversation ID"),
            };
            let n = app.add_note(target, &text)?;
            if json {
                crate::print_json(&n)
            } else {
                println!("note {} on customer {}", n.id, n.customer_id);
                Ok(())
            }
        }
    }
}

pub fn notes(app: App, args: NotesArgs) -> anyhow::Result<()> {
    let rows = app.notes(CustomerId(args.customer))?;
    if args.json {
        return crate::print_json(&rows);
    }
    let mut out = std::io::stdout().lock();
    for n in &rows {
        writeln!(
            out,
            "{}  {:<16}  {}",
            crate::local_time(n.created_at),
            n.author.as_deref().unwrap_or("-"),
            n.body.split_whitespace().collect::<Vec<_>>().join(" ")
        )?;
    }
    Ok(())
}

pub fn team(mut app: App, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Add {
            name,
            email,
            me,
            json,
        } => {
            let m = app.add_team_member(&name, email.as_deref(), me)?;
            if json {
                crate::print_json(&m)
            } else {
                println!(
                    "team member {} ({}){}",
                    m.id,
                    m.name,
                    if m.is_me { ", me" } else { "" }
                );
                Ok(())
            }
        }
        TeamCommand::List { json } => {
            let rows = app.team_members()?;
            if json {
                return crate::print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for m in &rows {
                writeln!(
                    out,
                    "{:>4}  {:<24}  {:<32}  {}",
                    m.id,
                    m.name,
                    m.email.as_deref().unwrap_or("-"),
                    if m.is_me { "me" } else { "" }
                )?;
            }
            Ok(())
        }
        TeamCommand::Me { member } => {
            let m = app.set_me(&member)?;
            println!("{} is me", m.name);
            Ok(())
        }
    }
}
