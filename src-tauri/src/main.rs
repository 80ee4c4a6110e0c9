//! Entry point of the `renkei-desk` app: everything lives in the library.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    renkei_desk_lib::run();
}
