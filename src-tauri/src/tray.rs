//! The tray icon: the stack's health at a glance (a green, amber or red dot, and a tooltip
//! such as "Desktop Runtime — degraded: backend unhealthy") and a menu to act on it without the
//! window: Open, Desktop Runtime…, one "Restart <name>" per failed sidecar, Quit.
//!
//! It is Tauri's own tray (`tray-icon` feature). `monitor.rs` calls [`show`] whenever the
//! health changes (from the supervisor's notifications, never by polling); the menu is rebuilt
//! then, so its restart items always match the failed set. A machine without a system tray must
//! not stop the app: [`create`] logs once and the app goes on without one.
//!
//! Per OS: Windows and macOS show the tooltip; on Linux the icon is an AppIndicator
//! (libayatana-appindicator3, loaded at run time), which has no tooltip, so the menu's first,
//! disabled line repeats the health there. Without that library, Linux has no tray (the library
//! loader panics; that panic is caught here). With the library but no StatusNotifier host or
//! XEmbed tray (a bare X server such as Xvfb, some GNOME setups without the AppIndicator
//! extension) the icon is created but shown nowhere, and nothing can tell.

use std::panic::AssertUnwindSafe;

use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuItemBuilder};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;

use crate::health::{Health, Level};
use sidecar_supervisor_core::Verb;

/// The tray icon's id (`app.tray_by_id`).
pub const TRAY_ID: &str = "desktop-runtime";

// Menu item ids: all start with `tray:` so the app's one menu handler tells them apart.
pub const ITEM_STATUS: &str = "tray:status";
pub const ITEM_OPEN: &str = "tray:open";
pub const ITEM_DIALOG: &str = "tray:desktop-runtime";
pub const ITEM_NO_FAILED: &str = "tray:no-failed";
pub const ITEM_QUIT: &str = "tray:quit";
/// Followed by the sidecar's name.
pub const ITEM_RESTART: &str = "tray:restart:";

/// Side of the generated icons, in pixels (scaled by the OS as it needs).
const SIZE: u32 = 32;

/// Adds the tray icon. `false` (after one line on stderr) when the system has no tray to add it
/// to; the app then runs without one. Must run on the main thread (the app's setup does).
pub fn create<R: Runtime>(app: &AppHandle<R>) -> bool {
    let initial = Health::unknown();
    // Linux: a missing libayatana-appindicator3 is a panic of its loader, not an error.
    let built = std::panic::catch_unwind(AssertUnwindSafe(|| {
        TrayIconBuilder::with_id(TRAY_ID)
            .icon(icon(initial.level))
            .tooltip(crate::health::tooltip(&initial))
            .menu(&menu(app, &initial)?)
            .show_menu_on_left_click(true)
            .build(app)
    }));
    match built {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            eprintln!("desktop-runtime: no tray icon ({e}); the app runs without one");
            false
        }
        Err(_) => {
            eprintln!(
                "desktop-runtime: no tray icon (no system tray library: libayatana-appindicator3 on Linux); the app runs without one"
            );
            false
        }
    }
}

/// Shows `health` on the tray icon, when there is one: its colour, tooltip and menu. Returns at
/// once; the change is made on the main thread.
pub fn show<R: Runtime>(app: &AppHandle<R>, health: &Health) {
    if app.tray_by_id(TRAY_ID).is_none() {
        return;
    }
    let (handle, health) = (app.clone(), health.clone());
    let _ = app.run_on_main_thread(move || {
        let Some(tray) = handle.tray_by_id(TRAY_ID) else { return };
        let menu = menu(&handle, &health);
        let done = tray
            .set_icon(Some(icon(health.level)))
            .and_then(|()| tray.set_tooltip(Some(crate::health::tooltip(&health))))
            .and_then(|()| tray.set_menu(Some(menu?)));
        if let Err(e) = done {
            eprintln!("desktop-runtime: cannot update the tray icon: {e}");
        }
    });
}

/// The tray's menu for `health`.
pub fn menu<R: Runtime>(app: &AppHandle<R>, health: &Health) -> tauri::Result<Menu<R>> {
    let status = MenuItemBuilder::with_id(ITEM_STATUS, capitalized(&health.summary)).enabled(false).build(app)?;
    let mut menu = MenuBuilder::new(app)
        .item(&status)
        .separator()
        .text(ITEM_OPEN, "Open")
        .text(ITEM_DIALOG, "Desktop Runtime…")
        .separator();
    if health.failed.is_empty() {
        menu = menu.item(&MenuItemBuilder::with_id(ITEM_NO_FAILED, "No failed sidecar").enabled(false).build(app)?);
    }
    for name in &health.failed {
        menu = menu.text(format!("{ITEM_RESTART}{name}"), format!("Restart {name}"));
    }
    menu.separator().text(ITEM_QUIT, "Quit").build()
}

/// Acts on a tray menu item; `false` when `id` is not one of the tray's.
pub fn on_menu_event<R: Runtime>(app: &AppHandle<R>, id: &str) -> bool {
    match id {
        ITEM_OPEN => crate::show_main_window(app),
        ITEM_DIALOG => crate::open_dialog(app, None),
        // Like the app menu's Quit: through RunEvent::Exit, so the sidecars stop gracefully.
        ITEM_QUIT => app.exit(0),
        _ => match id.strip_prefix(ITEM_RESTART) {
            Some(name) => restart(app, name),
            None => return false,
        },
    }
    true
}

fn restart<R: Runtime>(app: &AppHandle<R>, name: &str) {
    let Ok(sup) = app.sidecar_supervisor().supervisor().cloned() else { return };
    let name = name.to_string();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = sup.command(Verb::Restart, &name).await {
            eprintln!("desktop-runtime: restart of `{name}` from the tray: {e}");
        }
    });
}

/// The dot for `level`: green when ready, amber while starting or degraded, red when failed.
pub fn icon(level: Level) -> Image<'static> {
    let rgb = match level {
        Level::Ready => [0x2e, 0xa0, 0x43],
        Level::Starting | Level::Degraded => [0xd2, 0x99, 0x22],
        Level::Failed => [0xcf, 0x22, 0x2e],
    };
    Image::new_owned(dot(rgb), SIZE, SIZE)
}

/// A filled disc with a one-pixel soft edge on a transparent square, as RGBA.
fn dot(rgb: [u8; 3]) -> Vec<u8> {
    let centre = SIZE as f32 / 2.0;
    let radius = centre - 3.0;
    let mut rgba = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 + 0.5 - centre, y as f32 + 0.5 - centre);
            let coverage = (radius + 0.5 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
            rgba.extend_from_slice(&[rgb[0], rgb[1], rgb[2], (coverage * 255.0).round() as u8]);
        }
    }
    rgba
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icons_are_opaque_discs_on_a_clear_square_in_three_colours() {
        let img = icon(Level::Failed);
        assert_eq!((img.width(), img.height()), (SIZE, SIZE));
        let rgba = img.rgba();
        assert_eq!(rgba.len(), (SIZE * SIZE * 4) as usize);
        let alpha = |x: u32, y: u32| rgba[((y * SIZE + x) * 4 + 3) as usize];
        assert_eq!(alpha(SIZE / 2, SIZE / 2), 255, "the centre is opaque");
        assert_eq!(alpha(0, 0), 0, "a corner is clear");
        assert_eq!(&rgba[..3], &[0xcf, 0x22, 0x2e]);
        assert_eq!(icon(Level::Starting).rgba(), icon(Level::Degraded).rgba());
        assert_ne!(icon(Level::Ready).rgba(), icon(Level::Degraded).rgba());
        assert_ne!(icon(Level::Failed).rgba(), icon(Level::Degraded).rgba());
    }

    #[test]
    fn the_status_line_starts_with_a_capital() {
        assert_eq!(capitalized("all 5 sidecars ready"), "All 5 sidecars ready");
        assert_eq!(capitalized(""), "");
    }
}
