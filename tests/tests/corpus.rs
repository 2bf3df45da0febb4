//! The shared corpus is where the tests expect it: a missing corpus fails loudly here
//! instead of letting importer tests pass on nothing.

use shopdesk_systests::corpus::{corpus_dir, corpus_file};

/// Every fixture family the later importer tests read is present.
#[test]
fn corpus_is_reachable_and_complete() -> anyhow::Result<()> {
    let dir = corpus_dir()?;
    for family in [
        "chat-miner/test/whatsapp/target.json",
        "whatsapp-chat-parser@75f11bd/samples/short-chat.txt",
        "mail-parser/resources/eml",
        "imaptest/src/tests",
        "shopify_transporter@1ca276c/spec/files/transporter_csv_templates/orders.csv",
    ] {
        corpus_file(family)?;
    }
    let eml = std::fs::read_dir(dir.join("mail-parser/resources/eml/rfc"))?.count();
    assert!(eml > 10, "only {eml} entries in mail-parser/resources/eml/rfc");
    Ok(())
}
