//! `shopdesk`: the command line over the same use cases the desktop app calls.
//! Listings print a table, or JSON with `--json`. Errors go to stderr, exit code 1.

mod followups;
mod reply;
mod workflow;

use clap::{Parser, Subcommand};
use serde::Serialize;
use shopdesk_app::{
    Account, App, ChatImportOptions, ChatSource, ConversationFilter, DateOrder, Host, OrderFormat, OsKeyring, SyncEvent,
    SyncOptions, SystemHost,
};
use shopdesk_core::demo::DemoOptions;
use shopdesk_core::{Channel, ConversationId, CustomerId, Status, TlsMode};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "shopdesk", version, about = "Local-first customer support for small online shops")]
struct Cli {
    /// Database file [default: ~/.local/share/shopdesk/shopdesk.db]
    #[arg(long, global = true, env = "SHOPDESK_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a realistic demo shop into the database (replaces a demo, never real data unless --force)
    Demo {
        /// Same seed, same shop (on the same day)
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 48)]
        customers: usize,
        #[arg(long, default_value_t = 600)]
        messages: usize,
        /// Replace a database that holds real data
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Headline counts
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Customers with their identities
    Customers {
        #[arg(long)]
        json: bool,
    },
    /// Conversations, newest activity first
    Conversations {
        #[arg(long, value_name = "ID")]
        customer: Option<i64>,
        #[arg(long, value_parser = parse_vocab::<Status>)]
        status: Option<Status>,
        #[arg(long, value_parser = parse_vocab::<Channel>)]
        channel: Option<Channel>,
        /// Only conversations with this tag
        #[arg(long)]
        tag: Option<String>,
        /// A team member's name, `me`, or `none` (unassigned)
        #[arg(long, value_name = "MEMBER")]
        assignee: Option<String>,
        /// Only those where the customer wrote last and waits for an answer
        #[arg(long)]
        waiting: bool,
        /// Only those whose customer has a follow-up due today
        #[arg(long)]
        followups_due: bool,
        /// Page size (all when omitted)
        #[arg(long)]
        limit: Option<u32>,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        #[arg(long)]
        json: bool,
    },
    /// The messages of one conversation, oldest first
    Messages {
        conversation: i64,
        #[arg(long)]
        json: bool,
    },
    /// Orders newest first, with their lines
    Orders {
        /// Only this customer's (including customers merged into it)
        #[arg(long, value_name = "ID")]
        customer: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Mailbox accounts (IMAP in, SMTP out); passwords go to the OS keyring
    #[command(subcommand)]
    Account(AccountCommand),
    /// Import exports and mailboxes
    #[command(subcommand)]
    Import(ImportCommand),
    /// One customer: show, merge, split an identity off, undo, merge suggestions
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Read or change a setting (chat_names, default_phone_region, own_addresses)
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Fetch mail over IMAP: one pass with --once, else keep syncing (IDLE push, reconnects) until stopped
    Sync {
        /// Only this account [default: every account]
        #[arg(long)]
        account: Option<String>,
        /// One pass over every folder, then exit (a connection failure is an error)
        #[arg(long)]
        once: bool,
        /// Seconds between passes over all folders while waiting on IDLE for INBOX
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        poll_every: u64,
        /// One JSON object per line for each event (progress, synced, waiting, retrying)
        #[arg(long)]
        json: bool,
    },
    /// Reply to an email conversation: queued at once, then delivered (unless --no-wait)
    Reply(reply::ReplyArgs),
    /// Replies waiting, sent and failed (with the server's answer); `retry ID`, `cancel ID`
    Outbox(reply::OutboxArgs),
    /// Send queued replies: one run with --once, else keep running until stopped
    Deliver(reply::DeliverArgs),
    /// Log a reply sent by hand in a chat app (WhatsApp, Messenger, …); --whatsapp prints a wa.me link
    ChatReply(reply::ChatReplyArgs),
    /// One follow-up: add (with --due WHEN), done, cancel, snooze
    #[command(subcommand)]
    Followup(followups::FollowupCommand),
    /// Pending follow-ups, soonest first (--due: due by the end of today)
    Followups(followups::FollowupsArgs),
    /// Follow-up rules: add (N days after an order is created/fulfilled), enable, disable
    #[command(subcommand)]
    Rule(followups::RuleCommand),
    /// The follow-up rules
    Rules(followups::RulesArgs),
    /// Desktop reminders for due follow-ups until stopped (--once: what is due now, then exit)
    Remind(followups::RemindArgs),
    /// Saved replies: add, list, render for a conversation, delete
    #[command(subcommand)]
    Template(workflow::TemplateCommand),
    /// One conversation's workflow: status, priority, tag, assign, snooze, events
    #[command(subcommand)]
    Conversation(workflow::ConversationCommand),
    /// Internal notes (never sent): add
    #[command(subcommand)]
    Note(workflow::NoteCommand),
    /// A customer's internal notes, oldest first
    Notes(workflow::NotesArgs),
    /// The people using the app: add, list, me
    #[command(subcommand)]
    Team(workflow::TeamCommand),
    /// Full-text search over messages (Hebrew, Arabic, Polish, English; accents optional)
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run; boxing would only add noise
enum AccountCommand {
    /// Add a mailbox; the password is read from standard input and stored in the OS keyring
    Add {
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        imap_host: String,
        #[arg(long)]
        imap_port: u16,
        #[arg(long, value_parser = parse_vocab::<TlsMode>)]
        imap_tls: TlsMode,
        #[arg(long)]
        smtp_host: String,
        #[arg(long)]
        smtp_port: u16,
        #[arg(long, value_parser = parse_vocab::<TlsMode>)]
        smtp_tls: TlsMode,
        /// Login name (often the email address)
        #[arg(long)]
        user: String,
        /// Read the password from standard input (the only way: never on the command line)
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Extra trusted CA certificate (PEM) for a server with a private CA
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Folders to sync besides INBOX and Sent, comma-separated
        #[arg(long, value_delimiter = ',')]
        folders: Vec<String>,
        /// Another address of the shop on this mailbox; repeatable
        #[arg(long = "alias", value_name = "ADDRESS")]
        aliases: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List mailboxes (never their passwords)
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// An mbox file, a Maildir(++) tree, one .eml file, or a folder of them; re-importing adds nothing
    Mail {
        path: PathBuf,
        /// An address of the shop (mail from it is outgoing); repeatable, remembered
        #[arg(long = "me", value_name = "ADDRESS")]
        me: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// An order CSV from Shopify or WooCommerce (or any layout with --mapping); re-importing updates orders
    Orders {
        path: PathBuf,
        /// shopify, woocommerce, or auto (from the headers)
        #[arg(long, default_value = "auto", value_parser = parse_order_format)]
        format: OrderFormat,
        /// A JSON file naming the columns of an unknown layout (see the README)
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// A WhatsApp chat export: the .txt, or the .zip with media; re-importing adds only new lines
    Whatsapp {
        path: PathBuf,
        /// A name of the shop in the chat (its lines are outgoing); repeatable, remembered
        #[arg(long = "me", value_name = "NAME")]
        me: Vec<String>,
        /// How to read numeric dates (inferred from the whole file when omitted)
        #[arg(long, value_name = "dmy|mdy|ymd", value_parser = parse_date_order)]
        date_order: Option<DateOrder>,
        /// Parse and count only; store nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// A Facebook Messenger export: a message_N.json, its folder, or the export zip
    Messenger {
        path: PathBuf,
        /// A name of the shop in the chat; repeatable, remembered
        #[arg(long = "me", value_name = "NAME")]
        me: Vec<String>,
        /// Parse and count only; store nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// An Instagram messages export: a message_N.json, its folder, or the export zip
    Instagram {
        path: PathBuf,
        /// A name of the shop in the chat; repeatable, remembered
        #[arg(long = "me", value_name = "NAME")]
        me: Vec<String>,
        /// Parse and count only; store nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// A Telegram Desktop export: result.json (one chat or the whole account), its folder or zip
    Telegram {
        path: PathBuf,
        /// A name of the shop in the chat; repeatable, remembered
        #[arg(long = "me", value_name = "NAME")]
        me: Vec<String>,
        /// Parse and count only; store nothing
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// A customer with its identities, conversations, counts and merge history
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Merge customer B into customer A (undoable; nothing is lost)
    Merge {
        a: i64,
        b: i64,
        #[arg(long)]
        json: bool,
    },
    /// Move one identity and what came through it to a new customer (undoable)
    Split {
        id: i64,
        /// The identity's id, or kind:value (email:a@x.test, phone:+972501234567, whatsapp:anna)
        #[arg(long, value_name = "IDENT")]
        identity: String,
        #[arg(long)]
        json: bool,
    },
    /// Undo a merge or split by the change id they printed
    Undo {
        change: i64,
        #[arg(long)]
        json: bool,
    },
    /// Customers that may be one person (same name), for you to merge or dismiss
    Suggestions {
        #[arg(long)]
        json: bool,
    },
    /// Turn down the suggestion that A and B are one person
    Dismiss { a: i64, b: i64 },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Print a setting's value as JSON (null when unset)
    Get { key: String },
    /// Set a setting: JSON (["My Shop","Dana"]) or a bare word (IL)
    Set { key: String, value: String },
}

fn parse_date_order(s: &str) -> Result<DateOrder, String> {
    s.parse::<DateOrder>().map_err(|e| e.to_string())
}

fn parse_order_format(s: &str) -> Result<OrderFormat, String> {
    s.parse::<OrderFormat>()
}

fn parse_vocab<T: std::str::FromStr<Err = shopdesk_core::UnknownValue>>(s: &str) -> Result<T, String> {
    s.parse::<T>().map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Broken pipe (`shopdesk customers | head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
                return std::process::ExitCode::SUCCESS;
            }
            eprintln!("shopdesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let db = match cli.db {
        Some(p) => p,
        None => shopdesk_app::default_db_path()?,
    };
    let host = SystemHost;
    // Store errors already name the file.
    let open = || App::open(&db, host);
    match cli.command {
        Command::Demo { seed, customers, messages, force, json } => {
            let anchor = shopdesk_app::start_of_day(host.now(), &host.time_zone());
            let opts = DemoOptions { seed, customers, messages, anchor };
            let summary = shopdesk_app::create_demo(&db, &opts, force, host.now())?;
            if json {
                print_json(&summary)
            } else {
                println!(
                    "wrote the demo shop to {}: {} customers, {} conversations, {} messages, {} orders, {} follow-ups",
                    db.display(),
                    summary.customers,
                    summary.conversations,
                    summary.messages,
                    summary.orders,
                    summary.followups
                );
                Ok(())
            }
        }
        Command::Stats { json } => {
            let s = open()?.stats()?;
            if json {
                return print_json(&s);
            }
            println!("customers      {}", s.customers);
            println!("conversations  {}", s.conversations);
            println!("messages       {}", s.messages);
            println!("orders         {}", s.orders);
            println!("follow-ups due {}", s.followups_due);
            Ok(())
        }
        Command::Customers { json } => {
            let rows = open()?.customers()?;
            if json {
                return print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for c in rows {
                let ids: Vec<String> = c.identities.iter().map(|i| format!("{}:{}", i.kind, i.value)).collect();
                writeln!(out, "{:>6}  {:<28}  {}", c.id, c.name, ids.join(", "))?;
            }
            Ok(())
        }
        Command::Conversations { customer, status, channel, tag, assignee, waiting, followups_due, limit, offset, json } => {
            let filter = ConversationFilter {
                customer: customer.map(CustomerId),
                status,
                channel,
                tag,
                assignee,
                waiting,
                followups_due,
                limit,
                offset,
                ..Default::default()
            };
            let rows = open()?.conversations(&filter)?;
            if json {
                return print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for c in rows {
                writeln!(
                    out,
                    "{:>6}  {}  {:<9} {:<8} {:<24} {:>4} msgs  {}",
                    c.id,
                    local_time(c.last_activity),
                    c.channel,
                    c.status,
                    c.customer_name,
                    c.message_count,
                    c.subject.as_deref().unwrap_or(&c.snippet)
                )?;
            }
            Ok(())
        }
        Command::Messages { conversation, json } => {
            let rows = open()?.messages(ConversationId(conversation))?;
            if json {
                return print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for m in rows {
                writeln!(out, "── {} {} {} ({})", local_time(m.sent_at), m.direction, m.author.as_deref().unwrap_or("?"), m.channel)?;
                writeln!(out, "{}\n", m.body_text)?;
            }
            Ok(())
        }
        Command::Account(AccountCommand::Add {
            name,
            email,
            imap_host,
            imap_port,
            imap_tls,
            smtp_host,
            smtp_port,
            smtp_tls,
            user,
            password_stdin: _,
            ca_file,
            folders,
            aliases,
            display_name,
        }) => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let ca_file = ca_file.map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string());
            let account = Account {
                id: 0,
                name,
                email,
                aliases,
                display_name,
                username: user,
                imap_host,
                imap_port,
                imap_tls,
                smtp_host,
                smtp_port,
                smtp_tls,
                ca_file,
                folders,
                signature: None,
            };
            open()?.add_account(&account, password, &OsKeyring)?;
            println!("added account {} ({}); the password is in the OS keyring", account.name, account.email);
            Ok(())
        }
        Command::Account(AccountCommand::List { json }) => {
            let accounts = open()?.accounts(&OsKeyring)?;
            if json {
                return print_json(&accounts);
            }
            for a in accounts {
                let key = if a.password_stored { "password in keyring" } else { "NO PASSWORD in keyring" };
                println!("{:<16} {:<32} imap {}:{} ({})  smtp {}:{} ({})  {key}", a.account.name, a.account.email, a.account.imap_host, a.account.imap_port, a.account.imap_tls, a.account.smtp_host, a.account.smtp_port, a.account.smtp_tls);
            }
            Ok(())
        }
        Command::Import(ImportCommand::Mail { path, me, json }) => {
            let mut app = open()?;
            let show_progress = std::io::stderr().is_terminal();
            let report = app.import_mail(&path, &me, |p| {
                if show_progress && (p.done == p.total || p.done % 100 == 0) {
                    eprint!("\r{}/{} messages", p.done, p.total);
                }
            })?;
            if show_progress {
                eprintln!();
            }
            if json {
                return print_json(&report);
            }
            println!("imported {}, already there {}, problems {}", report.imported, report.duplicates, report.problems.len());
            for p in &report.problems {
                println!("  {}: {}", p.location, p.message);
            }
            Ok(())
        }
        Command::Import(ImportCommand::Orders { path, format, mapping, json }) => {
            let report = open()?.import_orders(&path, format, mapping.as_deref(), |_| {})?;
            if json {
                return print_json(&report);
            }
            println!(
                "{} orders new, {} updated, {} unchanged; {} customers created, {} merged; problems {}",
                report.new,
                report.updated,
                report.unchanged,
                report.customers_created,
                report.customers_merged,
                report.problems.len()
            );
            for p in &report.problems {
                println!("  {}: {}", p.location, p.message);
            }
            Ok(())
        }
        Command::Import(ImportCommand::Whatsapp { path, me, date_order, dry_run, json }) => {
            import_chat(open()?, ChatSource::Whatsapp, &path, ChatImportOptions { me, date_order }, dry_run, json)
        }
        Command::Import(ImportCommand::Messenger { path, me, dry_run, json }) => {
            import_chat(open()?, ChatSource::Messenger, &path, ChatImportOptions { me, date_order: None }, dry_run, json)
        }
        Command::Import(ImportCommand::Instagram { path, me, dry_run, json }) => {
            import_chat(open()?, ChatSource::Instagram, &path, ChatImportOptions { me, date_order: None }, dry_run, json)
        }
        Command::Import(ImportCommand::Telegram { path, me, dry_run, json }) => {
            import_chat(open()?, ChatSource::Telegram, &path, ChatImportOptions { me, date_order: None }, dry_run, json)
        }
        Command::Customer(command) => customer(open()?, command),
        Command::Template(command) => workflow::template(open()?, command),
        Command::Conversation(command) => workflow::conversation(open()?, command),
        Command::Note(command) => workflow::note(open()?, command),
        Command::Notes(args) => workflow::notes(open()?, args),
        Command::Team(command) => workflow::team(open()?, command),
        Command::Followup(command) => followups::followup(open()?, command),
        Command::Followups(args) => followups::followups(open()?, args),
        Command::Rule(command) => followups::rule(open()?, command),
        Command::Rules(args) => followups::rules(open()?, args),
        Command::Remind(args) => followups::remind(open()?, args),
        Command::Settings(SettingsCommand::Get { key }) => print_json(&open()?.setting(&key)?),
        Command::Settings(SettingsCommand::Set { key, value }) => {
            let value = open()?.set_setting(&key, &value)?;
            println!("{key} = {value}");
            Ok(())
        }
        Command::Orders { customer, json } => {
            let rows = open()?.orders(customer.map(CustomerId))?;
            if json {
                return print_json(&rows);
            }
            let mut out = std::io::stdout().lock();
            for o in rows {
                let total = o.total_minor.map_or_else(|| "-".to_owned(), |t| money(t, o.currency.as_deref()));
                writeln!(
                    out,
                    "{:<12} {}  {:<24} {:>14}  {:<10} {:<12} {} lines",
                    o.number,
                    local_time(o.created_at),
                    o.customer_name.as_deref().unwrap_or("-"),
                    total,
                    o.financial_status.as_deref().unwrap_or("-"),
                    o.fulfillment_status.as_deref().unwrap_or("-"),
                    o.lines.len()
                )?;
            }
            Ok(())
        }
        Command::Sync { account, once, poll_every, json } => {
            let options = SyncOptions { once, poll_every: Duration::from_secs(poll_every.max(1)), ..SyncOptions::default() };
            sync(&db, account.as_deref(), &options, json)
        }
        Command::Reply(args) => reply::reply(&db, args),
        Command::Outbox(args) => reply::outbox(&db, args),
        Command::Deliver(args) => reply::deliver(&db, args),
        Command::ChatReply(args) => reply::chat_reply(&db, args),
        Command::Search { query, limit, json } => {
            let hits = open()?.search(&query, limit)?;
            if json {
                return print_json(&hits);
            }
            let mut out = std::io::stdout().lock();
            for h in hits {
                writeln!(out, "{:>6}  conv {:<6} {:<24} {}", h.message_id, h.conversation_id, h.customer_name, h.snippet)?;
            }
            Ok(())
        }
    }
}

/// Syncs the chosen accounts, each on its own thread with its own connection to the
/// database; returns when all are done (`--once`) or when one fails for good.
fn sync(db: &std::path::Path, only: Option<&str>, options: &SyncOptions, json: bool) -> anyhow::Result<()> {
    let app = App::open(db, SystemHost)?;
    let accounts = match only {
        Some(name) => vec![app.account(name)?],
        None => app.account_settings()?,
    };
    if accounts.is_empty() {
        anyhow::bail!("no mailbox account yet: add one with `shopdesk account add`");
    }
    drop(app);
    let stop = AtomicBool::new(false);
    let failures = std::thread::scope(|scope| {
        let handles: Vec<_> = accounts
            .iter()
            .map(|account| scope.spawn(|| sync_account(db, account, options, json, &stop)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(anyhow::anyhow!("a sync thread panicked")),
            })
            .collect::<Vec<_>>()
    });
    match failures.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn sync_account(db: &std::path::Path, account: &Account, options: &SyncOptions, json: bool, stop: &AtomicBool) -> anyhow::Result<()> {
    let mut app = App::open(db, SystemHost)?;
    let settings = app.imap_settings(account, &OsKeyring)?;
    let name = account.name.as_str();
    let show_progress = !json && std::io::stderr().is_terminal();
    let mut on_event = |event: SyncEvent<'_>| {
        if json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer(&mut out, &event.status(name));
            let _ = writeln!(out);
            let _ = out.flush();
            if let SyncEvent::Retrying { error, delay } = event {
                eprintln!("shopdesk: {name}: {error}; retrying in {} s", delay.as_secs());
            }
            return;
        }
        match event {
            SyncEvent::Progress(p) if show_progress && p.total > 0 => eprint!("\r{name}: {}/{} messages", p.done, p.total),
            SyncEvent::Progress(_) | SyncEvent::Waiting => {}
            SyncEvent::Synced(r) => {
                if show_progress {
                    eprintln!();
                }
                println!("{name}: {} new, {} already there, {} problems", r.imported, r.duplicates, r.problems.len());
                for p in &r.problems {
                    println!("  {}: {}", p.location, p.message);
                }
            }
            SyncEvent::Retrying { error, delay } => eprintln!("shopdesk: {name}: {error}; retrying in {} s", delay.as_secs()),
        }
    };
    app.sync(account, &settings, options, stop, &mut on_event).map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// `import whatsapp|messenger|instagram|telegram`: progress on a terminal, then the report.
fn import_chat(
    mut app: App,
    kind: ChatSource,
    path: &std::path::Path,
    options: ChatImportOptions,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<()> {
    if dry_run {
        let parsed = app.parse_chat(kind, path, &options)?;
        if json {
            return print_json(&parsed);
        }
        println!("parsed {} messages in {} chats, {} problems (nothing stored)", parsed.messages, parsed.chats, parsed.problems.len());
        for p in &parsed.problems {
            println!("{}: {}", p.location, p.message);
        }
        return Ok(());
    }
    let show_progress = std::io::stderr().is_terminal();
    let report = app.import_chat(kind, path, &options, |p| {
        if show_progress {
            eprint!("\r{}/{} lines", p.done, p.total);
        }
    })?;
    if show_progress {
        eprintln!();
    }
    if json {
        return print_json(&report);
    }
    println!("imported {}, skipped {} duplicates, {} problems", report.imported, report.duplicates, report.problems.len());
    for p in &report.problems {
        println!("{}: {}", p.location, p.message);
    }
    Ok(())
}

fn customer(mut app: App, command: CustomerCommand) -> anyhow::Result<()> {
    match command {
        CustomerCommand::Show { id, json } => {
            let c = app.customer(CustomerId(id))?;
            if json {
                return print_json(&c);
            }
            match c.merged_into {
                Some(into) => println!("{} {} (merged into {into})", c.id, c.name),
                None => println!("{} {}", c.id, c.name),
            }
            for i in &c.identities {
                println!("  identity {:>5}  {}:{}  {}", i.id, i.kind, i.value, i.display.as_deref().unwrap_or(""));
            }
            let conversations: Vec<String> = c.conversation_ids.iter().map(ToString::to_string).collect();
            println!("  conversations {}", conversations.join(", "));
            println!("  orders {}, notes {}, follow-ups {}", c.order_count, c.note_count, c.followup_count);
            for ch in &c.changes {
                let undone = if ch.undone_at.is_some() { " (undone)" } else { "" };
                println!("  change {:>4}  {} {} / {}  {}{undone}", ch.id, ch.kind, ch.kept, ch.other, local_time(ch.at));
            }
            Ok(())
        }
        CustomerCommand::Merge { a, b, json } => {
            let change = app.merge_customers(CustomerId(a), CustomerId(b))?;
            if json {
                return print_json(&serde_json::json!({ "change": change, "customer": a }));
            }
            println!("merged customer {b} into {a} (change {change}; `shopdesk customer undo {change}` undoes it)");
            Ok(())
        }
        CustomerCommand::Split { id, identity, json } => {
            let split = app.split_customer(CustomerId(id), &identity)?;
            if json {
                return print_json(&split);
            }
            println!(
                "moved {identity} to new customer {} (change {}; `shopdesk customer undo {}` undoes it)",
                split.customer, split.change, split.change
            );
            Ok(())
        }
        CustomerCommand::Undo { change, json } => {
            let undone = app.undo_customer_change(change)?;
            if json {
                return print_json(&undone);
            }
            println!("undid {} {} (customers {} and {})", undone.kind, undone.id, undone.kept, undone.other);
            Ok(())
        }
        CustomerCommand::Suggestions { json } => {
            let suggestions = app.merge_suggestions()?;
            if json {
                return print_json(&suggestions);
            }
            for s in suggestions {
                println!("{:>6} {:<24} {:>6} {:<24} {}", s.a, s.a_name, s.b, s.b_name, s.reasons.join("; "));
            }
            Ok(())
        }
        CustomerCommand::Dismiss { a, b } => {
            app.dismiss_suggestion(CustomerId(a), CustomerId(b))?;
            println!("customers {a} and {b} will not be suggested again");
            Ok(())
        }
    }
}

fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Minor units as the amount people read: `123450, USD` -> `1234.50 USD`.
fn money(minor: i64, currency: Option<&str>) -> String {
    let digits = shopdesk_app::minor_digits(currency);
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let (whole, frac) = (minor.unsigned_abs() / scale as u64, minor.unsigned_abs() % scale as u64);
    let amount = match digits {
        0 => format!("{sign}{whole}"),
        d => format!("{sign}{whole}.{frac:0width$}", width = d as usize),
    };
    match currency {
        Some(c) => format!("{amount} {c}"),
        None => amount,
    }
}

fn local_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| ms.to_string())
}
