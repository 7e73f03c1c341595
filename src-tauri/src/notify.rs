//! Native notifications of incidents (`incidents.rs` decides when: once per incident), through
//! `tauri-plugin-notification`, sent from Rust: the webview needs no notification permission.
//!
//! A click on a notification opens the Desktop Runtime dialog on that sidecar's row: the
//! window is shown and focused and [`crate::EVENT_OPEN_DIALOG`] is emitted with
//! `{ "sidecar": "<name>" }`. The plugin reports clicks on desktop to the handler registered
//! with `on_action` (action id `tap`), carrying the notification's data, whose `extra` holds the
//! sidecar's name. What happens on each OS (from the plugin's desktop implementation):
//!
//! - **Linux (and the BSDs)**: sent over D-Bus (`org.freedesktop.Notifications`) with a
//!   `default` action, which the server invokes on a click on the notification (GNOME, KDE,
//!   dunst, mako, xfce4-notifyd do; a server that does not offer actions shows it without
//!   reporting the click: nothing opens). Without a session bus (a CI machine, a bare X server)
//!   nothing is sent: [`init`] logs once and incidents are only shown in the tray and dialog.
//!   With a bus but no notification server the plugin fails silently.
//! - **Windows**: a toast; a click is reported only while it is on screen, not once it moved to
//!   the Action Center (a click there opens nothing). In development (the exe under
//!   `target/`) the toast carries PowerShell's name and icon; an installed app's carries its own.
//! - **macOS**: a user notification; the click is reported and opens the row. In development
//!   it is sent on behalf of Terminal (the plugin does so when the app is not bundled), so a
//!   click may bring Terminal forward as well.

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::incidents::Alert;

/// Whether notifications can be sent here: registers the click handler and returns `true`, or
/// logs once why not and returns `false`.
pub fn init<R: Runtime>(app: &AppHandle<R>) -> bool {
    if let Some(why) = unavailable() {
        eprintln!("desktop-runtime: failure notifications are off: {why}");
        return false;
    }
    let handle = app.clone();
    let registered = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let sidecar = performed
            .notification()
            .and_then(|n| n.extra().get("sidecar"))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        crate::open_dialog(&handle, sidecar.as_deref());
    });
    if let Err(e) = registered {
        eprintln!("desktop-runtime: notification clicks will not open the dialog: {e}");
    }
    true
}

/// Shows `alert` as a native notification; a failure is logged, never raised.
pub fn show<R: Runtime>(app: &AppHandle<R>, alert: &Alert) {
    let mut builder = app.notification().builder().id(alert.id).title(&alert.title).body(&alert.body);
    if let Some(name) = &alert.sidecar {
        builder = builder.extra("sidecar", name);
    }
    if let Err(e) = builder.show() {
        eprintln!("desktop-runtime: cannot show the notification \"{}\": {e}", alert.title);
    }
}

/// Why no notification can be sent, when it is known beforehand: on Linux and the BSDs,
/// there is no session bus to send it on.
#[cfg(all(unix, not(target_os = "macos")))]
fn unavailable() -> Option<String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
        return None;
    }
    let socket = std::env::var_os("XDG_RUNTIME_DIR").map(|d| std::path::PathBuf::from(d).join("bus"));
    if socket.is_some_and(|s| s.exists()) {
        return None;
    }
    Some("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus)".into())
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn unavailable() -> Option<String> {
    None
}
