//! `bench-reply [--replies N]`: the reply figures of issue 5, in process against the
//! harness's Postfix + Dovecot (SMTP AUTH, loopback):
//!   - queued and shown: `App::reply` until the row is in `App::messages` (target < 50 ms);
//!   - delivered: `App::deliver` (SMTP accepted, recorded, APPENDed to Sent) (target < 1 s).
//!
//! Prints median and worst of N replies each. Needs a Secret Service keyring in the
//! session (the account password goes there), as bench/reply provides.

use anyhow::{Context, Result, bail};
use shopdesk_app::{Account, App, OsKeyring, ReplyDraft, SystemHost};
use shopdesk_systests::mail::MailServers;
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut replies = 50usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--replies" => replies = args.next().and_then(|v| v.parse().ok()).context("--replies N")?,
            _ => bail!("usage: bench-reply [--replies N]"),
        }
    }
    let servers = MailServers::start()?;
    let work = tempfile::tempdir()?;
    let mut app = App::open(&work.path().join("shop.db"), SystemHost)?;
    let shop = servers.shop().clone();
    let account = Account {
        display_name: Some("Sunflower Shop".into()),
        signature: Some("Sunflower Shop".into()),
        ..servers.shop_account(&format!("bench-reply-{}", std::process::id()))
    };
    app.add_account(&account, &shop.password, &OsKeyring).context("account add (is a Secret Service keyring running?)")?;
    let eml = work.path().join("customer.eml");
    std::fs::write(
        &eml,
        format!(
            "From: Anna <{}>\r\nTo: {}\r\nSubject: Order 1042\r\nMessage-ID: <c1@example.test>\r\n\
             Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\nWhere is my parcel?\r\n",
            servers.customer().address,
            shop.address
        ),
    )?;
    app.import_mail(&eml, &[], |_| {})?;
    let conversation = app.conversations(&Default::default())?.first().map(|c| c.id).context("no conversation")?;
    let draft = ReplyDraft { body_text: "It left today.\n".into(), cancel_on_reply: true, ..ReplyDraft::default() };

    let mut queued = Vec::with_capacity(replies);
    let mut delivered = Vec::with_capacity(replies);
    for _ in 0..replies {
        let t = Instant::now();
        let entry = app.reply(conversation, &draft)?;
        let shown = app.messages(conversation)?.iter().any(|m| Some(m.id) == entry.message_id && m.delivery.as_deref() == Some("queued"));
        queued.push(t.elapsed());
        if !shown {
            bail!("reply {} not shown as queued", entry.id);
        }
        let t = Instant::now();
        let report = app.deliver(&OsKeyring)?;
        delivered.push(t.elapsed());
        if report.sent != vec![entry.id] {
            bail!("reply {} not sent: {report:?}", entry.id);
        }
    }
    print("reply queued and shown (App::reply -> row in messages)", &mut queued, 50);
    print("reply delivered (SMTP AUTH + accepted + recorded + APPEND to Sent)", &mut delivered, 1000);
    Ok(())
}

fn print(what: &str, times: &mut [Duration], target_ms: u64) {
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    println!(
        "{what:<68} median {:>7.1} ms  worst {:>7.1} ms  (n = {}, target < {target_ms} ms)",
        median.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        times.len()
    );
}
