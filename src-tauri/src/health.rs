//! The stack's health as the tray shows it: the core's one rule ([`Health`], the same the
//! window's header and the Desktop Runtime dialog show; its rules and tests live with it in
//! `sidecar-supervisor-core`), and the tray's tooltip. `tray.rs` draws it and `monitor.rs`
//! takes each new health the supervisor pushes.

pub use sidecar_supervisor_core::{HealthLevel as Level, StackHealth as Health};

/// The tray icon's tooltip.
pub fn tooltip(health: &Health) -> String {
    format!("Desktop Runtime — {}", health.summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_supervisor_core::State;

    #[test]
    fn the_tooltip_names_the_app_and_the_summary() {
        let h = Health::of([("db", State::Ready), ("backend", State::Ready)]);
        assert_eq!(tooltip(&h), "Desktop Runtime — all 2 sidecars ready");
        let many: Vec<String> = (1..=6).map(|i| format!("worker#{i}")).collect();
        let h = Health::of(many.iter().map(|n| (n.as_str(), State::Failed)));
        assert_eq!(tooltip(&h), "Desktop Runtime — failed: worker#1, worker#2, worker#3 and 3 more");
        assert!(tooltip(&h).chars().count() < 128, "fits a Windows tooltip");
    }
}
