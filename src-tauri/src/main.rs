// Release builds on Windows would open a console window next to the app without this.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    shopdesk_desktop::run();
}
