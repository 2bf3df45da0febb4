//! The real desktop app under test: the built Tauri binary, driven through tauri-driver
//! (which starts WebKitWebDriver, which starts the app) over WebDriver.
//!
//! Needs a display (the test command runs everything under Xvfb) and `tauri-driver` on
//! PATH or in ~/.cargo/bin (the test command installs it). Missing pieces are reported as
//! errors that say what to install, never skipped.

use anyhow::{Context, bail};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The desktop binary: `SHOPDESK_DESKTOP_BIN`, else the workspace's debug build.
pub fn desktop_binary() -> anyhow::Result<PathBuf> {
    let path = match std::env::var_os("SHOPDESK_DESKTOP_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/shopdesk-desktop"),
    };
    if !path.exists() {
        bail!("{} not found: build it with `./x test` (or `cargo build -p shopdesk-desktop` after `npm --prefix ui run build`)", path.display());
    }
    Ok(path.canonicalize()?)
}

/// A running tauri-driver, killed (with the WebKitWebDriver and app it started) on drop.
pub struct TauriDriver {
    child: Child,
    pub port: u16,
}

impl TauriDriver {
    pub fn start() -> anyhow::Result<TauriDriver> {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            bail!("no display: run the UI tests under Xvfb (`./x test` does)");
        }
        let driver = find_tauri_driver()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let child = Command::new(&driver)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // Its own process group, so drop can stop the driver, WebKitWebDriver and the app together.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", driver.display()))?;
        let mut this = TauriDriver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = this.child.try_wait()? {
                bail!("tauri-driver exited early with {status}");
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not listen on 127.0.0.1:{port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(this)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(200));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
    }
}

use std::os::unix::process::CommandExt;

fn find_tauri_driver() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("tauri-driver"))
        .find(|p| p.exists())
    {
        return Ok(path);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cargo_bin = home.join(".cargo/bin/tauri-driver");
    if cargo_bin.exists() {
        return Ok(cargo_bin);
    }
    if Command::new("WebKitWebDriver").arg("--version").output().is_err() {
        bail!("WebKitWebDriver not found: apt-get install webkit2gtk-driver");
    }
    bail!("tauri-driver not found: cargo install tauri-driver --locked")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
