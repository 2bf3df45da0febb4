// Release builds on Windows would open a console window next to the app without this.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    shopdesk_desktop::without_gpu_use_software_compositing();
    shopdesk_desktop::run();
}
