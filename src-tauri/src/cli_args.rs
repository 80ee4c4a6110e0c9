//! The few command-line flags of the desktop app, answered before any window or store is
//! opened (IT staff checking an install: `renkei-desk --version`). Everything else the app is
//! told comes from its settings or the environment; the headless work is the `renkei` command.

/// What to do with the arguments (without the program name).
#[derive(Debug, PartialEq, Eq)]
pub enum Flags {
    /// Start the app (possibly with `--autostart`).
    Run,
    /// Print this text and exit 0.
    Print(String),
    /// Print this error and exit 2.
    Refuse(String),
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Flags {
    for a in args {
        match a.as_str() {
            "--version" | "-V" => {
                return Flags::Print(format!("renkei-desk {}", env!("CARGO_PKG_VERSION")))
            }
            "--help" | "-h" => return Flags::Print(help()),
            crate::autostart::ARG => {}
            // Desktop launchers and the OS pass file paths and -psn style arguments: start.
            other if !other.starts_with("--") => {}
            other => {
                return Flags::Refuse(format!(
                    "renkei-desk: unknown option {other}. Try `renkei-desk --help`; the command-line tool is `renkei`"
                ))
            }
        }
    }
    Flags::Run
}

fn help() -> String {
    format!(
        "renkei-desk {} — Renkei Desk (連携デスク), the front-desk app\n\n\
         usage: renkei-desk [--autostart] [--version] [--help]\n\n  \
         --autostart   start in the tray without opening the window (used by \"start with the PC\")\n  \
         --version     print the version and exit\n\n\
         Environment: RENKEI_DATA_DIR (the store's folder), RENKEI_KEY_FILE / RENKEI_DB_KEY /\n\
         RENKEI_KEYRING=off (the store key), RENKEI_AUTOSTART=off (never register at first run),\n\
         RENKEI_ZOOM=1.25 (display size). The command-line tool for backups, keys, staff and the\n\
         hub server is `renkei` (`renkei --help`). Documentation: docs/ in the source repository.",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Flags {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn version_help_autostart_and_unknown_options() {
        assert_eq!(p(&[]), Flags::Run);
        assert_eq!(p(&["--autostart"]), Flags::Run);
        assert!(matches!(p(&["--version"]), Flags::Print(v) if v.starts_with("renkei-desk 0.")));
        assert!(matches!(p(&["-h"]), Flags::Print(v) if v.contains("--autostart")));
        assert!(
            matches!(p(&["--frobnicate"]), Flags::Refuse(e) if e.contains("--frobnicate") && e.contains("--help"))
        );
    }
}
