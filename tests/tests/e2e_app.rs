//! The real app, end to end: the built Tauri binary under Xvfb, driven through
//! tauri-driver + WebKitWebDriver, on a demo database made for the test.

use anyhow::Context;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use shopdesk_app::{App, ConversationFilter, FixedHost, FollowupListing, FollowupState, SecretStore, SystemHost, create_demo, start_of_day};
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
/// newest conversation), and opening one shows its customer's timeline with all of that
/// conversation's messages, each text with dir="auto".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_inbox_lists_and_opens_conversations() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let expected = App::open(&db, host)?.conversations(&ConversationFilter::default())?;
    let newest = expected.first().context("the demo has conversations")?;
    let expected_messages = App::open(&db, FixedHost { now: 0, tz: jiff::tz::TimeZone::UTC })?.messages(newest.id)?;

    let newest = newest.clone();
    with_window(&db, "demo_inbox", |client| async move {
        let rows = wait_count(&client, "[data-testid=conversation-row]", 1).await?;
        assert!(rows >= 20, "only {rows} rows listed");
        let first = client.find(Locator::Css("[data-testid=conversation-row]")).await?;
        assert_eq!(first.attr("data-conversation-id").await?, Some(newest.id.to_string()));
        // textContent, not text(): WebKitWebDriver reports spans inside a <button> as not
        // displayed and returns "" for their visible text.
        let name = first.find(Locator::Css("[data-testid=customer-name]")).await?.prop("textContent").await?;
        assert_eq!(name.as_deref().map(str::trim), Some(newest.customer_name.as_str()));

        first.click().await?;
        // The customer screen shows this conversation's messages among the customer's others.
        wait_count(&client, &format!("[data-testid=customer-screen][data-customer-id=\"{}\"]", newest.customer_id), 1).await?;
        let shown = wait_count(&client, "[data-testid=timeline-item][data-kind=message]", expected_messages.len()).await?;
        assert!(shown >= expected_messages.len());
        let bodies = client.find_all(Locator::Css("[data-testid=message-body]")).await?;
        assert!(bodies.len() >= expected_messages.len(), "every message has its text element");
        for b in &bodies {
            assert_eq!(b.attr("dir").await?.as_deref(), Some("auto"), "message text carries dir=auto");
        }
        let view = client.find(Locator::Css("[data-testid=timeline]")).await?.prop("textContent").await?.unwrap_or_default();
        let last = expected_messages.last().context("messages")?;
        let first_line = last.body_text.lines().next().unwrap_or_default();
        assert!(view.contains(first_line), "the newest message text {first_line:?} is shown");
        anyhow::Ok(())
    })
    .await
}

/// The app syncs configured mailboxes in the background: mail waiting on the real
/// Dovecot shows up in the inbox of a freshly opened window, the header says the account
/// is up to date, and mail delivered while the window is open arrives by itself (IDLE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_syncs_mail_in_the_background() -> anyhow::Result<()> {
    use shopdesk_app::{OsKeyring, SystemHost};
    use shopdesk_systests::mail::MailServers;

    let servers = MailServers::start()?;
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    let mail = |subject: &str, id: &str| {
        format!("From: Dana Levi <{c}>\r\nTo: {s}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nשלום, איפה ההזמנה שלי?\r\n")
    };
    servers.send_raw(&c, &[&s], &mail("שאלה על הזמנה 1042", "bg1@example.test"))?;

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("shop.db");
    let name = format!("e2e-{}-{}", std::process::id(), dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("x"));
    let account = servers.shop_account(&name);
    App::open(&db, SystemHost)?.add_account(&account, &servers.shop().password, &OsKeyring)?;

    let (c, s, mail, servers, name) = (&c, &s, &mail, &servers, &name);
    with_window(&db, "background_sync", |client| async move {
        wait_count(&client, "[data-testid=conversation-row]", 1).await?;
        let row = client.find(Locator::Css("[data-testid=conversation-row]")).await?.prop("textContent").await?.unwrap_or_default();
        assert!(row.contains("Dana Levi") && row.contains("שאלה על הזמנה 1042"), "row: {row}");
        wait_count(&client, "[data-testid=sync-synced], [data-testid=sync-waiting]", 1).await?;
        let sync = client.find(Locator::Css("[data-testid=sync]")).await?.prop("textContent").await?.unwrap_or_default();
        assert!(sync.contains(name.as_str()) && sync.contains("up to date"), "sync indicator: {sync}");

        servers.send_raw(c, &[s], &mail("Second question", "bg2@example.test"))?;
        let rows = wait_count(&client, "[data-testid=conversation-row]", 2).await?;
        assert_eq!(rows, 2);
        anyhow::Ok(())
    })
    .await
}

// ---- The screens of issue 6 -------------------------------------------------------------

/// A demo database for one test, with its `now` (the demo's "today" is the real today, so
/// the app's clock agrees with it).
fn demo_db(dir: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, FixedHost)> {
    let db = dir.join("demo.db");
    let host = FixedHost { now: jiff::Timestamp::now().as_millisecond(), tz: jiff::tz::TimeZone::UTC };
    let anchor = start_of_day(host.now, &host.tz);
    create_demo(&db, &DemoOptions { anchor, ..DemoOptions::default() }, false, host.now)?;
    Ok((db, host))
}

/// Screenshots a person looks at after the run: target/screenshots/NAME.png.
async fn keep_screenshot(client: &Client, name: &str) -> anyhow::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, client.screenshot().await?)?;
    eprintln!("screenshot: {}", path.canonicalize().unwrap_or(path).display());
    Ok(())
}

/// Waits until `css` matches and its textContent contains `needle`; returns the text.
async fn wait_text(client: &Client, css: &str, needle: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut texts = Vec::new();
        for e in client.find_all(Locator::Css(css)).await? {
            texts.push(e.prop("textContent").await?.unwrap_or_default());
        }
        if let Some(t) = texts.iter().find(|t| t.contains(needle)) {
            return Ok(t.clone());
        }
        if Instant::now() > deadline {
            anyhow::bail!("no {css} containing {needle:?} after 20 s; saw {texts:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `css` matches nothing.
async fn wait_gone(client: &Client, css: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client.find_all(Locator::Css(css)).await?.is_empty() {
        if Instant::now() > deadline {
            anyhow::bail!("{css} still present after 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn html_attr(client: &Client, name: &str) -> anyhow::Result<String> {
    let v = client.execute(&format!("return document.documentElement.getAttribute('{name}') || ''"), vec![]).await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Picks a language in Settings the way a user does (the select's change event).
async fn switch_language(client: &Client, code: &str) -> anyhow::Result<()> {
    client.find(Locator::Css("[data-testid=nav-settings]")).await?.click().await?;
    wait_count(client, "[data-testid=language-select]", 1).await?;
    client
        .execute(
            "const s = document.querySelector('[data-testid=language-select]');
             s.value = arguments[0];
             s.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(code)],
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while html_attr(client, "lang").await? != code {
        anyhow::ensure!(Instant::now() < deadline, "<html lang> never became {code}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.find(Locator::Css("[data-testid=nav-inbox]")).await?.click().await?;
    Ok(())
}

/// Runs `body` with a window on `db`; on failure keeps a screenshot named after the test.
async fn with_window<F, Fut>(db: &std::path::Path, name: &str, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let (_driver, client) = launch(db).await?;
    let result = body(client.clone()).await;
    if result.is_err() {
        save_screenshot(&client, name).await;
    }
    client.close().await.ok();
    result
}

/// A customer who wrote by email and on WhatsApp has both on one timeline (channel markers
/// on each message); the inbox and that timeline are kept as screenshots in English and
/// Hebrew; Hebrew and Arabic mirror the window (`dir="rtl"` on the root), English does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_timeline_across_channels_in_english_hebrew_and_arabic() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let app = App::open(&db, host)?;
    let rows = app.conversations(&ConversationFilter { limit: Some(15), ..Default::default() })?;
    // The first inbox row whose customer has both an email and a WhatsApp conversation.
    let mut target = None;
    for row in &rows {
        let theirs = app.conversations(&ConversationFilter { customer: Some(row.customer_id), ..Default::default() })?;
        let channels: std::collections::HashSet<_> = theirs.iter().map(|c| c.channel).collect();
        if channels.contains(&shopdesk_core::Channel::Email) && channels.contains(&shopdesk_core::Channel::Whatsapp) {
            target = Some(row.clone());
            break;
        }
    }
    let row = target.context("the demo's first 15 inbox rows include a customer on email and WhatsApp")?;
    let row_css = format!("[data-testid=conversation-row][data-conversation-id=\"{}\"]", row.id);
    let screen_css = format!("[data-testid=customer-screen][data-customer-id=\"{}\"]", row.customer_id);

    with_window(&db, "timeline_languages", |client| async move {
        assert_eq!(html_attr(&client, "dir").await?, "ltr");
        wait_count(&client, &row_css, 1).await?;
        keep_screenshot(&client, "inbox-en").await?;
        client.find(Locator::Css(&row_css)).await?.click().await?;
        wait_count(&client, &screen_css, 1).await?;
        wait_count(&client, "[data-testid=timeline-item][data-kind=message][data-channel=email]", 1).await?;
        wait_count(&client, "[data-testid=timeline-item][data-kind=message][data-channel=whatsapp]", 1).await?;
        let bodies = client.find_all(Locator::Css("[data-testid=message-body]")).await?;
        for b in &bodies {
            assert_eq!(b.attr("dir").await?.as_deref(), Some("auto"), "every message text has dir=auto");
        }
        keep_screenshot(&client, "customer-en").await?;

        switch_language(&client, "he").await?;
        assert_eq!(html_attr(&client, "dir").await?, "rtl");
        wait_count(&client, &row_css, 1).await?;
        keep_screenshot(&client, "inbox-he").await?;
        client.find(Locator::Css(&row_css)).await?.click().await?;
        wait_count(&client, &screen_css, 1).await?;
        wait_count(&client, "[data-testid=timeline-item][data-channel=whatsapp]", 1).await?;
        keep_screenshot(&client, "customer-he").await?;

        switch_language(&client, "ar").await?;
        assert_eq!(html_attr(&client, "dir").await?, "rtl");
        switch_language(&client, "en").await?;
        assert_eq!(html_attr(&client, "dir").await?, "ltr");
        anyhow::Ok(())
    })
    .await
}

/// Typing a Hebrew word in the search box lists results as you type; opening the first
/// one shows that customer with the word on the timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_a_hebrew_word_and_open_the_result() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let app = App::open(&db, host)?;
    let is_hebrew = |w: &str| w.chars().count() >= 3 && w.chars().all(|c| ('\u{05D0}'..='\u{05EA}').contains(&c));
    let mut word = None;
    'found: for c in app.conversations(&ConversationFilter::default())? {
        for m in app.messages(c.id)? {
            if let Some(w) = m.body_text.split(|ch: char| !ch.is_alphanumeric()).find(|w| is_hebrew(w)) {
                word = Some(w.to_owned());
                break 'found;
            }
        }
    }
    let word = word.context("the demo has Hebrew messages")?;
    let hit = app.search(&word, 50)?.into_iter().next().context("the backend finds the word")?;

    with_window(&db, "search_hebrew", |client| async move {
        wait_count(&client, "[data-testid=conversation-row]", 1).await?;
        let input = client.find(Locator::Css("[data-testid=search-input]")).await?;
        input.click().await?;
        input.send_keys(&word).await?;
        wait_count(&client, "[data-testid=search-result]", 1).await?;
        let first = client.find(Locator::Css("[data-testid=search-result]")).await?;
        assert_eq!(first.attr("data-customer-id").await?, Some(hit.customer_id.to_string()));
        first.click().await?;
        wait_count(&client, &format!("[data-testid=customer-screen][data-customer-id=\"{}\"]", hit.customer_id), 1).await?;
        wait_text(&client, "[data-testid=timeline]", &word).await?;
        anyhow::Ok(())
    })
    .await
}

/// Adding a follow-up in the customer sidebar stores it pending; Done marks it done and
/// takes it off the sidebar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_followup_and_mark_it_done() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let first = App::open(&db, host.clone())?
        .conversations(&ConversationFilter { limit: Some(1), ..Default::default() })?
        .into_iter()
        .next()
        .context("demo rows")?;
    let note = "Check the parcel arrived — בדיקה";
    let db2 = db.clone();
    with_window(&db, "followup", |client| async move {
        let row_css = format!("[data-testid=conversation-row][data-conversation-id=\"{}\"]", first.id);
        wait_count(&client, &row_css, 1).await?;
        client.find(Locator::Css(&row_css)).await?.click().await?;
        wait_count(&client, "[data-testid=followup-when]", 1).await?;
        client.find(Locator::Css("[data-testid=followup-when]")).await?.send_keys("tomorrow 9:00").await?;
        client.find(Locator::Css("[data-testid=followup-note]")).await?.send_keys(note).await?;
        client.find(Locator::Css("[data-testid=followup-add]")).await?.click().await?;
        wait_text(&client, "[data-testid=followup]", note).await?;

        let app = App::open(&db2, SystemHost)?;
        let stored = app.followups(FollowupListing::Customer(first.customer_id))?;
        let added = stored.iter().find(|f| f.reason == note).context("the follow-up is stored")?;
        assert_eq!(added.state, FollowupState::Pending);

        let item = format!("[data-testid=followup][data-followup-id=\"{}\"]", added.id);
        client.find(Locator::Css(&format!("{item} [data-testid=followup-done]"))).await?.click().await?;
        wait_gone(&client, &item).await?;
        assert_eq!(app.followup(added.id)?.state, FollowupState::Done);
        anyhow::Ok(())
    })
    .await
}

/// A local HTTP listener that counts connections: what a mail's remote content would hit.
struct Tripwire {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Tripwire {
    fn start() -> anyhow::Result<Tripwire> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                use std::io::Write;
                let mut s = stream;
                let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        Ok(Tripwire { port, hits })
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Hostile HTML mail (script, remote image, CSS url(), stylesheet link, iframe) runs no
/// script and fetches nothing when shown; only "show images" loads the remote image,
/// which also proves the tripwire would have seen a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_html_mail_runs_no_script_and_fetches_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let wire = Tripwire::start()?;
    let p = wire.port;
    let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
    let eml = format!(
        "From: Mallory Newsletter <mallory@tracker.test>\r\nTo: hello@sunflower-shop.example\r\nSubject: Zzyzx offer\r\n\
         Date: {date}\r\nMessage-ID: <hostile-1@tracker.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <html><head><link rel=stylesheet href=\"http://127.0.0.1:{p}/style.css\">\
         <style>body {{ background: url(http://127.0.0.1:{p}/bg.png) }}</style>\
         <script>document.title = 'pwned'; fetch('http://127.0.0.1:{p}/script');</script></head>\
         <body onload=\"fetch('http://127.0.0.1:{p}/onload')\"><p style=\"background:url(http://127.0.0.1:{p}/inline.png)\">Zzyzx deal</p>\
         <img src=\"http://127.0.0.1:{p}/pixel.gif\" width=1 height=1>\
         <iframe src=\"http://127.0.0.1:{p}/frame\"></iframe>\
         <a href=\"javascript:fetch('http://127.0.0.1:{p}/js')\">click</a></body></html>\r\n"
    );
    let path = dir.path().join("hostile.eml");
    std::fs::write(&path, eml)?;
    App::open(&db, host.clone())?.import_mail(&path, &[], |_| {})?;
    let hit = App::open(&db, host)?.search("Zzyzx", 5)?.into_iter().next().context("the hostile mail is stored")?;

    with_window(&db, "hostile_html", |client| async move {
        let title = client.title().await?;
        let row_css = format!("[data-testid=conversation-row][data-conversation-id=\"{}\"]", hit.conversation_id);
        wait_count(&client, &row_css, 1).await?;
        client.find(Locator::Css(&row_css)).await?.click().await?;
        wait_count(&client, "[data-testid=html-frame]", 1).await?;
        let frame = client.find(Locator::Css("[data-testid=html-frame]")).await?;
        assert_eq!(frame.attr("sandbox").await?.as_deref(), Some(""), "the frame is fully sandboxed");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(wire.hits(), 0, "showing the mail fetched remote content");
        assert_eq!(client.title().await?, title, "a script in the mail ran");

        client.find(Locator::Css("[data-testid=show-images]")).await?.click().await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while wire.hits() == 0 {
            anyhow::ensure!(Instant::now() < deadline, "\"show images\" did not load the remote image");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(client.title().await?, title, "a script in the mail ran");
        anyhow::Ok(())
    })
    .await
}

/// Replying with a saved reply: the variables are filled in the preview, and the sent mail
/// reaches the customer's INBOX on the test Dovecot with that text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_with_a_saved_reply_reaches_the_customer() -> anyhow::Result<()> {
    use shopdesk_app::OsKeyring;
    use shopdesk_systests::mail::MailServers;

    let servers = MailServers::start()?;
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    servers.send_raw(
        &c,
        &[&s],
        &format!(
            "From: Dana Levi <{c}>\r\nTo: {s}\r\nSubject: Where is my parcel?\r\nMessage-ID: <ask-1@example.test>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nHi, my parcel has not arrived.\r\n"
        ),
    )?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("shop.db");
    let name = format!("e2e-reply-{}", std::process::id());
    let account = shopdesk_app::Account { display_name: Some("Sunflower Shop".into()), ..servers.shop_account(&name) };
    {
        let mut app = App::open(&db, SystemHost)?;
        app.add_account(&account, &servers.shop().password, &OsKeyring)?;
        app.save_template("Parcel on its way", "en", None, "Hello {{customer.first_name}}, your parcel left us today.")?;
    }

    let result = with_window(&db, "saved_reply", |client| async move {
        wait_text(&client, "[data-testid=conversation-row]", "Dana Levi").await?;
        client.find(Locator::Css("[data-testid=conversation-row]")).await?.click().await?;
        wait_count(&client, "[data-testid=composer]", 1).await?;
        client.find(Locator::Css("[data-testid=composer-mode-reply]")).await?.click().await?;
        client.find(Locator::Css("[data-testid=template-search]")).await?.send_keys("parcel").await?;
        wait_count(&client, "[data-testid=template-option]", 1).await?;
        client.find(Locator::Css("[data-testid=template-option][data-name=\"Parcel on its way\"]")).await?.click().await?;
        wait_text(&client, "[data-testid=template-preview]", "Hello Dana, your parcel left us today.").await?;
        client.find(Locator::Css("[data-testid=template-insert]")).await?.click().await?;
        client.find(Locator::Css("[data-testid=composer-send]")).await?.click().await?;

        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let inbox = servers.fetch_folder(servers.customer(), "INBOX")?;
            if inbox.iter().any(|m| String::from_utf8_lossy(m).contains("Hello Dana, your parcel left us today.")) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the reply never reached the customer's INBOX\n{}", servers.log_tail());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::Ok(())
    })
    .await;
    let _ = OsKeyring.delete(&name);
    result
}

/// The Import screen: a WhatsApp export given by path (kind found from its contents) is
/// imported with a report whose counts are the database's, and importing it again reports
/// every message as a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_an_export_from_the_import_screen() -> anyhow::Result<()> {
    let export = shopdesk_systests::corpus::corpus_file("whatstk/chats/whatsapp/pokemon.txt")?;
    let dir = tempfile::tempdir()?;
    let (db, host) = demo_db(dir.path())?;
    let before = App::open(&db, host.clone())?.stats()?.messages;
    let db2 = db.clone();
    with_window(&db, "import_screen", |client| async move {
        client.find(Locator::Css("[data-testid=nav-import]")).await?.click().await?;
        wait_count(&client, "[data-testid=import-path]", 1).await?;
        let path_input = client.find(Locator::Css("[data-testid=import-path]")).await?;
        path_input.send_keys(&export.display().to_string()).await?;
        client.find(Locator::Css("[data-testid=import-start]")).await?.click().await?;
        wait_count(&client, "[data-testid=import-report] [data-testid=import-imported]", 1).await?;
        let imported: i64 = client
            .find(Locator::Css("[data-testid=import-imported]"))
            .await?
            .attr("data-value")
            .await?
            .context("data-value")?
            .parse()?;
        let after = App::open(&db2, SystemHost)?.stats()?.messages;
        assert!(imported > 0);
        assert_eq!(after - before, imported, "the report counts what was stored");

        // Again: nothing new.
        client.find(Locator::Css("[data-testid=import-start]")).await?.click().await?;
        wait_count(&client, "[data-testid=import-report]", 2).await?;
        let newest = client.find(Locator::Css("[data-testid=import-report] [data-testid=import-imported]")).await?;
        assert_eq!(newest.attr("data-value").await?.as_deref(), Some("0"));
        assert_eq!(App::open(&db2, SystemHost)?.stats()?.messages, after);
        anyhow::Ok(())
    })
    .await
}
