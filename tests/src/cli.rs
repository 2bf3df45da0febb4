//! Running the `shopdesk` binary from a test: `bin` is the test's
//! `env!("CARGO_BIN_EXE_shopdesk")` (only the CLI crate's tests know it).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `bin --db DB ARGS…` with `stdin` as its standard input (a password for
/// `--password-stdin`, or nothing) and returns what it did.
pub fn run_with_stdin(bin: &str, db: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin)
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    if let Some(mut input) = child.stdin.take() {
        // A command that exits before reading its input closes the pipe; that is its answer.
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("waiting for {bin}: {e}"))
}
