//! The notification policy: a pure function of events and time → OS notifications, each with a
//! reason. (Stub: to be completed — see issue 6.)

pub mod scenario {
    //! Scenario runner (stub).
    /// Runs a scenario, returning JSON lines.
    pub fn run_scenario_lines(_json: &str) -> Result<Vec<String>, String> {
        Err("not available yet".into())
    }
}
