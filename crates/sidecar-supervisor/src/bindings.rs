//! `guest-js/bindings.ts` is generated from the Rust types the commands and pushes carry, so the
//! TypeScript side cannot drift from them: this test fails when the file is stale, and
//! rewrites it with `UPDATE_BINDINGS=1` (`cargo xtask bindings`).

use sidecar_supervisor_core::profile::Mode;
use sidecar_supervisor_core::SidecarMessage;
use sidecar_supervisor_core::{Budget, LastProbe, RuntimeStatus, RuntimeWarning, SidecarStatus, WarningKind};
use sidecar_supervisor_core::{Cause, HealthLevel, Identity, StackHealth, State, StateFacts, Verb};
use sidecar_supervisor_core::{EventKind, RuntimeEvent};
use sidecar_supervisor_core::{LiveLine, LogLine, Stream};
use sidecar_supervisor_core::{ResourceUsage, SidecarResources};
use ts_rs::TS;

use crate::Diagnostics;
use sidecar_supervisor_core::{BackupDone, BackupFile, BackupManifest, BackupsInfo, RestoreDone, SidecarBuild};
use sidecar_supervisor_core::{ErrorKind, ErrorPayload};

const HEADER: &str = "// Generated from the Rust types by `cargo xtask bindings` (the plugin's test `bindings` checks\n// it is current): do not edit by hand.\n";

fn generated() -> String {
    let decls = [
        State::decl(),
        Verb::decl(),
        HealthLevel::decl(),
        StateFacts::decl(),
        StackHealth::decl(),
        Cause::decl(),
        Identity::decl(),
        SidecarBuild::decl(),
        Mode::decl(),
        Budget::decl(),
        LastProbe::decl(),
        ResourceUsage::decl(),
        SidecarResources::decl(),
        WarningKind::decl(),
        RuntimeWarning::decl(),
        SidecarStatus::decl(),
        RuntimeStatus::decl(),
        EventKind::decl(),
        RuntimeEvent::decl(),
        Diagnostics::decl(),
        BackupManifest::decl(),
        BackupDone::decl(),
        RestoreDone::decl(),
        BackupFile::decl(),
        BackupsInfo::decl(),
        Stream::decl(),
        SidecarMessage::decl(),
        crate::commands::SidecarInfo::decl(),
        LogLine::decl(),
        LiveLine::decl(),
        crate::LiveBatch::decl(),
        ErrorKind::decl(),
        ErrorPayload::decl(),
    ];
    let mut out = String::from(HEADER);
    for d in decls {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&d);
        out.push('\n');
    }
    out.push_str(&state_facts());
    out
}

/// The core's rules of each state as a table (`State::facts`): the UI reads them here instead of
/// keeping its own lists of which states run, fit a command or weigh in the stack's health.
fn state_facts() -> String {
    let mut out = String::from(
        "\n/** What each state means (the core's rules of `SidecarState`): up for its dependents, a\n * process alive, its weight in the stack's health, the commands that fit it. */\nexport const STATE_FACTS: Record<SidecarState, StateFacts> = {\n",
    );
    for s in State::ALL {
        let facts = serde_json::to_string(&s.facts()).expect("facts serialize");
        out.push_str(&format!("  {}: {facts},\n", s.as_str()));
    }
    out.push_str("}\n");
    out
}

#[test]
fn guest_js_bindings_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("guest-js/bindings.ts");
    let want = generated();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is stale: the Rust types changed. Regenerate it with `cargo xtask bindings`.\n--- expected ---\n{want}",
        path.display()
    );
}
