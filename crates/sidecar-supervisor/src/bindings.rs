//! `guest-js/bindings.ts` is generated from the Rust types the commands and pushes carry, so the
//! TypeScript side cannot drift from them: this test fails when the file is stale, and
//! rewrites it with `UPDATE_BINDINGS=1` (`cargo xtask bindings`).

use sidecar_supervisor_core::domain::{Identity, State};
use sidecar_supervisor_core::events::{EventKind, RuntimeEvent};
use sidecar_supervisor_core::logs::{LiveLine, LogLine, Stream};
use sidecar_supervisor_core::profile::Mode;
use sidecar_supervisor_core::runtime::channel::SidecarMessage;
use sidecar_supervisor_core::runtime::resources::{ResourceUsage, SidecarResources};
use sidecar_supervisor_core::runtime::{Budget, LastProbe, RuntimeStatus, RuntimeWarning, SidecarStatus, WarningKind};
use ts_rs::TS;

use crate::error::{ErrorKind, ErrorPayload};
use crate::Diagnostics;

const HEADER: &str = "// Generated from the Rust types by `cargo xtask bindings` (the plugin's test `bindings` checks\n// it is current): do not edit by hand.\n";

fn generated() -> String {
    let decls = [
        State::decl(),
        Identity::decl(),
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
