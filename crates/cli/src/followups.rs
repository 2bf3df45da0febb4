//! `followup`, `followups`, `rule`, `rules` and `remind`: follow-ups and their reminders.

use clap::{Args, Subcommand};
use serde::Serialize;
use shopdesk_app::notify::{DesktopNotifier, OpenTarget};
use shopdesk_app::scheduler::{Scheduler, SchedulerEvent, SchedulerOptions};
use shopdesk_app::{App, FollowupListing, FollowupRow, RuleTrigger};
use shopdesk_core::{ConversationId, CustomerId, FollowupId};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Subcommand)]
pub enum FollowupCommand {
    /// Remind me to contact a customer at a time
    Add {
        customer: i64,
        /// RFC 3339, `+7d`, `+2h`, `tomorrow 9:00`, `2026-12-24 18:00` (local time)
        #[arg(long, value_name = "WHEN")]
        due: String,
        /// What to do (the notification's title after the customer's name)
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// About this conversation
        #[arg(long, value_name = "ID")]
        conversation: Option<i64>,
        /// Accept a due time in the past (the reminder is due at once)
        #[arg(long)]
        allow_past: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark a follow-up done
    Done { id: i64 },
    /// Cancel a follow-up (it never fires)
    Cancel { id: i64 },
    /// Move a follow-up to a later time; it reminds again then
    Snooze {
        id: i64,
        #[arg(long, value_name = "WHEN")]
        until: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct FollowupsArgs {
    /// Only those due by the end of today (overdue included)
    #[arg(long)]
    due: bool,
    /// One customer's follow-ups, any state
    #[arg(long, value_name = "ID")]
    customer: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum RuleCommand {
    /// N days after an order is created or fulfilled, remind me (with a saved reply)
    Add {
        name: String,
        #[arg(long, value_name = "created|fulfilled", value_parser = parse_trigger)]
        after: RuleTrigger,
        #[arg(long, value_name = "N")]
        days: i64,
        /// The saved reply to suggest (its name)
        #[arg(long, value_name = "NAME")]
        template: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Turn a rule on (and apply it)
    Enable { id: i64 },
    /// Turn a rule off (its follow-ups stay)
    Disable { id: i64 },
}

#[derive(Args)]
pub struct RulesArgs {
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RemindArgs {
    /// Show what is due (the catch-up) and exit
    #[arg(long)]
    once: bool,
    /// One JSON object per line for each event
    #[arg(long)]
    json: bool,
}

fn parse_trigger(s: &str) -> Result<RuleTrigger, String> {
    match s {
        "created" => Ok(RuleTrigger::OrderCreated),
        "fulfilled" => Ok(RuleTrigger::OrderFulfilled),
        _ => Err(format!("expected created or fulfilled, not {s:?}")),
    }
}

pub fn followup(mut app: App, command: FollowupCommand) -> anyhow::Result<()> {
    match command {
        FollowupCommand::Add {
            customer,
            due,
            note,
            conversation,
            allow_past,
            json,
        } => {
            let due_at = app.parse_when(&due)?;
            let row = app.add_followup(
                CustomerId(customer),
                conversation.map(ConversationId),
                due_at,
                &note,
                allow_past,
            )?;
            if json {
                crate::print_json(&row)
            } else {
                println!(
                    "follow-up {} for {} due {}",
                    row.id,
                    row.customer_name,
                    crate::local_time(row.due_at)
                );
                Ok(())
            }
        }
        FollowupCommand::Done { id } => Ok(app.finish_followup(FollowupId(id))?),
        FollowupCommand::Cancel { id } => Ok(app.cancel_followup(FollowupId(id))?),
        FollowupCommand::Snooze { id, until, json } => {
            let until = app.parse_when(&until)?;
            let row = app.snooze_followup(FollowupId(id), until)?;
            if json {
                crate::print_json(&row)
            } else {
                println!(
                    "follow-up {} now due {}",
                    row.id,
                    crate::local_time(row.due_at)
                );
                Ok(())
            }
        }
    }
}

pub fn followups(app: App, args: FollowupsArgs) -> anyhow::Result<()> {
    let listing = match (args.customer, args.due) {
        (Some(c), _) => FollowupListing::Customer(CustomerId(c)),
        (None, true) => FollowupListing::Due,
        (None, false) => FollowupListing::Pending,
    };
    let rows = app.followups(listing)?;
    if args.json {
        return crate::print_json(&rows);
    }
    let mut out = std::io::stdout().lock();
    for r in &rows {
        writeln!(out, "{}", row_line(r))?;
    }
    Ok(())
}

fn row_line(r: &FollowupRow) -> String {
    let mut line = format!(
        "{:>6}  {}  {:<24}  {}",
        r.id.0,
        crate::local_time(r.due_at),
        r.customer_name,
        r.reason.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    if r.flagged {
        line.push_str("  [has written since]");
    }
    if r.state != shopdesk_app::FollowupState::Pending {
        line.push_str(&format!(
            "  ({})",
            serde_json::to_value(r.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
    }
    line
}

pub fn rule(mut app: App, command: RuleCommand) -> anyhow::Result<()> {
    match command {
        RuleCommand::Add {
            name,
            after,
            days,
            template,
            json,
        } => {
            let rule = app.add_followup_rule(&name, after, days, template.as_deref())?;
            if json {
                crate::print_json(&rule)
            } else {
                println!("rule {} added", rule.id);
                Ok(())
            }
        }
        RuleCommand::Enable { id } => Ok(app.set_followup_rule_enabled(id, true)?),
        RuleCommand::Disable { id } => Ok(app.set_followup_rule_enabled(id, false)?),
    }
}

pub fn rules(app: App, args: RulesArgs) -> anyhow::Result<()> {
    let rules = app.followup_rules()?;
    if args.json {
        return crate::print_json(&rules);
    }
    for r in &rules {
        let after = match r.trigger {
            RuleTrigger::OrderCreated => "created",
            RuleTrigger::OrderFulfilled => "fulfilled",
        };
        println!(
            "{:>4}  {}  {} days after an order is {after}{}{}",
            r.id,
            r.name,
            r.days,
            r.template
                .as_deref()
                .map(|t| format!(", saved reply {t}"))
                .unwrap_or_default(),
            if r.enabled { "" } else { "  (off)" }
        );
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum RemindLine<'a> {
    Reminded {
        followups: Vec<i64>,
        notifications: usize,
    },
    Failed {
        error: &'a shopdesk_app::AppError,
    },
    Woken {
        conversations: Vec<i64>,
    },
    Open {
        target: OpenTarget,
    },
}

/// Runs the reminder scheduler with desktop notifications until killed; `--once`: the
/// catch-up round only. A click on a notification prints which customer to open.
pub fn remind(app: App, args: RemindArgs) -> anyhow::Result<()> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        anyhow::bail!(
            "no desktop session bus (DBUS_SESSION_BUS_ADDRESS is unset): notifications cannot be shown"
        );
    }
    let json = args.json;
    let on_open: shopdesk_app::notify::OnOpen = Arc::new(move |target| {
        if json {
            let _ = print_line(&RemindLine::Open { target });
        } else {
            match target {
                OpenTarget::Customer(c) => println!("open customer {c}"),
                OpenTarget::Followups => println!("open follow-ups"),
            }
        }
    });
    let failed = Arc::new(Mutex::new(None));
    let failed_in = failed.clone();
    let mut scheduler = Scheduler::new(
        Arc::new(Mutex::new(app)),
        Arc::new(DesktopNotifier::new(Some(on_open))),
        SchedulerOptions::default(),
    )
    .on_event(move |event| match event {
        SchedulerEvent::Reminded {
            followups,
            notifications,
            ..
        } => {
            let followups: Vec<i64> = followups.iter().map(|f| f.0).collect();
            if json {
                let _ = print_line(&RemindLine::Reminded {
                    followups,
                    notifications: *notifications,
                });
            } else {
                println!(
                    "reminded {} follow-up(s) in {notifications} notification(s)",
                    followups.len()
                );
            }
        }
        SchedulerEvent::Woken { conversations, .. } => {
            let conversations: Vec<i64> = conversations.iter().map(|c| c.0).collect();
            if json {
                let _ = print_line(&RemindLine::Woken { conversations });
            } else {
                println!("{} snoozed conversation(s) open again", conversations.len());
            }
        }
        SchedulerEvent::Failed(error) => {
            if json {
                let _ = print_line(&RemindLine::Failed { error });
            } else {
                eprintln!("shopdesk: reminders: {error} (trying again later)");
            }
            if let Ok(mut f) = failed_in.lock() {
                *f = Some(error.clone());
            }
        }
    });
    if args.once {
        scheduler.run_once();
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e.into());
        }
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    runtime.block_on(scheduler.run());
    Ok(())
}

fn print_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
