//! The shared third-party test corpus (WhatsApp/Messenger/Telegram exports, real-world
//! .eml files, IMAP THREAD oracles, order CSVs). It is not copied into the repo; tests
//! find it through `SHOPDESK_CORPUS`, default `../shared/corpus` from the repo root.

use anyhow::bail;
use std::path::{Path, PathBuf};

/// The corpus folder, or an error that says where it was looked for and how to point at it.
pub fn corpus_dir() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("SHOPDESK_CORPUS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"),
    };
    if !dir.join("README.md").is_file() {
        bail!(
            "the shared test corpus is absent: no README.md in {} (set SHOPDESK_CORPUS to the corpus folder)",
            dir.display()
        );
    }
    Ok(dir.canonicalize()?)
}

/// A file inside the corpus, or an error naming it.
pub fn corpus_file(relative: &str) -> anyhow::Result<PathBuf> {
    let path = corpus_dir()?.join(relative);
    if !path.exists() {
        bail!("corpus file missing: {}", path.display());
    }
    Ok(path)
}
