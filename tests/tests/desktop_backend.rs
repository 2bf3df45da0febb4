//! What the window's import and account screens call, against real inputs: the shared
//! corpus for "drop any export" and the test Dovecot + Postfix for "test connection".

use anyhow::Context;
use shopdesk_app::{Account, App, ErrorCode, ImportKind, SystemHost};
use shopdesk_core::TlsMode;
use shopdesk_systests::corpus::corpus_file;
use shopdesk_systests::mail::{HOST, MailServers};

/// A file dropped without saying what it is goes to the right importer, and importing it
/// again (as the owner will) adds nothing.
#[test]
fn dropped_exports_find_their_importer() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut app = App::open(&dir.path().join("shop.db"), SystemHost)?;
    let cases = [
        ("whatstk/chats/whatsapp/pokemon.txt", ImportKind::Whatsapp),
        ("chat-miner/test/telegram/test_single_export.json", ImportKind::Telegram),
        ("chat-miner/test/instagram/test_export.json", ImportKind::Instagram),
        ("mail-parser/resources/eml/rfc/006.eml", ImportKind::Mail),
        ("shopify_transporter@1ca276c/spec/files/transporter_csv_templates/orders.csv", ImportKind::Orders),
    ];
    for (relative, kind) in cases {
        let path = corpus_file(relative)?;
        let first = app.import_path(None, &path, |_| {}).with_context(|| relative.to_owned())?;
        assert_eq!(first.kind, kind, "{relative}");
        assert!(first.imported > 0, "{relative}: {first:?}");
        let again = app.import_path(None, &path, |_| {})?;
        assert_eq!(again.imported, 0, "{relative}: re-import added {again:?}");
    }
    Ok(())
}

/// Something that is no export is refused with a message naming the file, not guessed at.
#[test]
fn an_unknown_file_is_refused_by_name() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("holiday.jpg");
    std::fs::write(&photo, [0xff, 0xd8, 0xff, 0xe0])?;
    let mut app = App::open(&dir.path().join("shop.db"), SystemHost)?;
    let err = app.import_path(None, &photo, |_| {}).expect_err("not an export");
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("holiday.jpg"), "{}", err.message);
    Ok(())
}

/// "Test connection" logs in to the real IMAP and SMTP servers with the right password and
/// names the server that refused a wrong one; nothing is saved either way.
#[test]
fn test_connection_logs_in_and_names_the_refusing_server() -> anyhow::Result<()> {
    let servers = MailServers::start_with_tls()?;
    let dir = tempfile::tempdir()?;
    let app = App::open(&dir.path().join("shop.db"), SystemHost)?;
    let account = Account {
        id: 0,
        name: "shop".into(),
        email: servers.shop().address.clone(),
        aliases: vec![],
        display_name: None,
        username: servers.shop().login.clone(),
        imap_host: HOST.into(),
        imap_port: servers.imaps_port().context("TLS ports")?,
        imap_tls: TlsMode::Tls,
        smtp_host: HOST.into(),
        smtp_port: servers.smtps_port().context("TLS ports")?,
        smtp_tls: TlsMode::Tls,
        ca_file: servers.ca_file().map(|p| p.display().to_string()),
        folders: vec![],
        signature: None,
    };
    app.test_account(&account, &servers.shop().password)?;

    let err = app.test_account(&account, "wrong password").expect_err("refused");
    assert_eq!(err.code, ErrorCode::MailLogin, "{err:?}");
    assert!(err.message.starts_with("IMAP 127.0.0.1:"), "{}", err.message);
    assert!(!err.message.contains("wrong password"), "the password never appears in errors");

    let mut no_ca = account.clone();
    no_ca.ca_file = None;
    let err = app.test_account(&no_ca, &servers.shop().password).expect_err("untrusted certificate");
    assert_eq!(err.code, ErrorCode::Tls, "{err:?}");
    assert!(app.account_settings()?.is_empty(), "testing saves nothing");
    Ok(())
}

/// "Open"/"Save" on an attachment copies the stored bytes out under the sender's file
/// name, made safe: a `../` name stays inside the target folder and nothing is overwritten.
#[test]
fn attachments_are_copied_out_safely() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("shop.db");
    let eml = "From: Anna <anna@example.test>\r\nTo: shop@shop.test\r\nSubject: invoice\r\nMessage-ID: <att-1@example.test>\r\n\
               MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
               --b\r\nContent-Type: text/plain; name=\"../../evil.txt\"\r\nContent-Disposition: attachment; filename=\"../../evil.txt\"\r\n\r\n\
               faktura 1042\r\n--b--\r\n";
    let path = dir.path().join("att.eml");
    std::fs::write(&path, eml)?;
    let mut app = App::open(&db, SystemHost)?;
    app.import_mail(&path, &[], |_| {})?;
    let hit = app.search("attached", 5)?.into_iter().next().context("stored")?;
    let customer = app.customer_view(hit.customer_id)?;
    let attachment = customer
        .timeline
        .iter()
        .find_map(|item| match item {
            shopdesk_app::TimelineItem::Message { attachments, .. } => attachments.first().cloned(),
            _ => None,
        })
        .context("the attachment is on the timeline")?;
    let out = dir.path().join("downloads");
    let first = app.export_attachment(attachment.id, &out)?;
    let second = app.export_attachment(attachment.id, &out)?;
    assert_eq!(first, out.join("evil.txt"));
    assert_eq!(second, out.join("evil (2).txt"));
    assert_eq!(std::fs::read_to_string(&first)?.trim_end(), "faktura 1042");
    assert!(!dir.path().join("evil.txt").exists());
    Ok(())
}
