//! The real app, end to end: the built Tauri binary under Xvfb, driven through
//! tauri-driver + WebKitWebDriver, on a demo database made for the test.

use anyhow::Context;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use shopdesk_app::{App, ConversationFilter, FixedHost, create_demo, start_of_day};
use shopdesk_core::demo::DemoOptions;
use shopdesk_systests::desktop::{TauriDriver, desktop_binary};
use std::time::{Duration, Instant};

async fn launch(db: &std::path::Path) -> anyhow::Result<(TauriDriver, Client)> {
    // WebKitWebDriver sometimes drops the very first session request when the machine is
    // busy (the driver listens before its native side is ready): try a fresh driver again.
    let mut last = None;
    for _ in 0..3 {
        let driver = TauriDriver::start()?;
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": desktop_binary()?, "args": ["--db", db] }),
        );
        match ClientBuilder::new(HttpConnector::new()).capabilities(caps).connect(&driver.url()).await {
            Ok(client) => return Ok((driver, client)),
            Err(e) => last = Some(e),
        }
    }
    Err(anyhow::Error::from(last.expect("three attempts were made"))).context("opening a WebDriver session on the app")
}

/// Keeps what the window showed when a test failed, for the person reading the CI log.
async fn save_screenshot(client: &Client, name: &str) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{name}.png"));
    if let Ok(png) = client.screenshot().await
        && std::fs::write(&path, png).is_ok() {
            eprintln!("screenshot of the failing window: {}", path.display());
        }
}

/// Waits until `css` matches at least `min` elements; returns how many.
async fn wait_count(client: &Client, css: &str, min: usize) -> anyhow::Result<usize> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = client.find_all(Locator::Css(css)).await?.len();
        if n >= min {
            return Ok(n);
        }
        if Instant::now() > deadline {
            let html = client.source().await.unwrap_or_default();
            anyhow::bail!("{css}: {n} elements after 20 s (wanted {min}); page: {}", &html[..html.len().min(2000)]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The demo inbox lists its conversations newest first (the first row is the database's
/// newest conversation), and opening one shows exactly its messages, each with dir="auto".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_inbox_lists_and_opens_conversations() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.db");
    let host = FixedHost { now: jiff::Timestamp::now().as_millisecond(), tz: jiff::tz::TimeZone::UTC };
    let anchor = start_of_day(host.now, &host.tz);
    create_demo(&db, &DemoOptions { anchor, ..DemoOptions::default() }, false, host.now)?;
    let expected = App::open(&db, host)?.conversations(&ConversationFilter::default())?;
    let newest = expected.first().context("the demo has conversations")?;
    let expected_messages = App::open(&db, FixedHost { now: 0, tz: jiff::tz::TimeZone::UTC })?.messages(newest.id)?;

    let (_driver, client) = launch(&db).await?;
    let result = async {
        let rows = wait_count(&client, "[data-testid=conversation-row]", 1).await?;
        assert!(rows >= 20, "only {rows} rows listed");
        let first = client.find(Locator::Css("[data-testid=conversation-row]")).await?;
        assert_eq!(first.attr("data-conversation-id").await?, Some(newest.id.to_string()));
        // textContent, not text(): WebKitWebDriver reports spans inside a <button> as not
        // displayed and returns "" for their visible text.
        let name = first.find(Locator::Css("[data-testid=customer-name]")).await?.prop("textContent").await?;
        assert_eq!(name.as_deref().map(str::trim), Some(newest.customer_name.as_str()));

        first.click().await?;
        let shown = wait_count(&client, "[data-testid=conversation-view] [data-testid=message]", 1).await?;
        assert_eq!(shown, expected_messages.len());
        let bodies = client.find_all(Locator::Css("[data-testid=message] [dir=auto]")).await?;
        assert!(bodies.len() >= shown, "every message text carries dir=auto");
        let view = client.find(Locator::Css("[data-testid=conversation-view]")).await?.prop("textContent").await?.unwrap_or_default();
        let last = expected_messages.last().context("messages")?;
        let first_line = last.body_text.lines().next().unwrap_or_default();
        assert!(view.contains(first_line), "the newest message text {first_line:?} is shown");
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        save_screenshot(&client, "demo_inbox").await;
    }
    client.close().await.ok();
    result
}

/// The app syncs configured mailboxes in the background: mail waiting on the real
/// Dovecot shows up in the inbox of a freshly opened window, the header says the account
/// is up to date, and mail delivered while the window is open arrives by itself (IDLE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_syncs_mail_in_the_background() -> anyhow::Result<()> {
    use shopdesk_app::{Account, OsKeyring, SystemHost};
    use shopdesk_core::TlsMode;
    use shopdesk_systests::mail::{HOST, MailServers};

    let servers = MailServers::start()?;
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    let mail = |subject: &str, id: &str| {
        format!("From: Dana Levi <{c}>\r\nTo: {s}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nשלום, איפה ההזמנה שלי?\r\n")
    };
    servers.send_raw(&c, &[&s], &mail("שאלה על הזמנה 1042", "bg1@example.test"))?;

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("shop.db");
    let name = format!("e2e-{}-{}", std::process::id(), dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("x"));
    let account = Account {
        id: 0,
        name: name.clone(),
        email: s.clone(),
        aliases: vec![],
        display_name: None,
        username: servers.shop().login.clone(),
        imap_host: HOST.into(),
        imap_port: servers.imap_port(),
        imap_tls: TlsMode::None,
        smtp_host: HOST.into(),
        smtp_port: servers.smtp_port(),
        smtp_tls: TlsMode::None,
        ca_file: None,
        folders: vec![],
        signature: None,
    };
    App::open(&db, SystemHost)?.add_account(&account, &servers.shop().password, &OsKeyring)?;

    let (_driver, client) = launch(&db).await?;
    let result = async {
        wait_count(&client, "[data-testid=conversation-row]", 1).await?;
        let row = client.find(Locator::Css("[data-testid=conversation-row]")).await?.prop("textContent").await?.unwrap_or_default();
        assert!(row.contains("Dana Levi") && row.contains("שאלה על הזמנה 1042"), "row: {row}");
        wait_count(&client, "[data-testid=sync-synced], [data-testid=sync-waiting]", 1).await?;
        let sync = client.find(Locator::Css("[data-testid=sync]")).await?.prop("textContent").await?.unwrap_or_default();
        assert!(sync.contains(&name) && sync.contains("up to date"), "sync indicator: {sync}");

        servers.send_raw(&c, &[&s], &mail("Second question", "bg2@example.test"))?;
        let rows = wait_count(&client, "[data-testid=conversation-row]", 2).await?;
        assert_eq!(rows, 2);
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        save_screenshot(&client, "background_sync").await;
    }
    client.close().await.ok();
    result
}
