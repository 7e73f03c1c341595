//! The desktop app: the `sidecar-supervisor` plugin runs the stack; one window shows the main
//! view and the Desktop Runtime dialog. The UI gets the backend URL and this launch's API key
//! through an initialization script that runs before the page (never through the URL, logs or
//! storage), and talks to the plugin over IPC.
//!
//! Around the window: a tray icon showing the stack's health with a menu (`tray.rs`, drawn
//! from `health.rs`), a native notification once per failure incident whose click opens the
//! dialog on that row (`incidents.rs`, `notify.rs`), both driven by one listener of the
//! supervisor's notifications (`monitor.rs`), and the `open_folder` command (`folders.rs`).

pub mod folders;
pub mod health;
pub mod incidents;
pub mod monitor;
mod notify;
pub mod tray;

use serde_json::json;
use tauri::menu::{MenuBuilder, MenuItemBuilder, SubmenuBuilder};
use tauri::{Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;

/// Where the app's own pages come from: the bundled assets (Linux/macOS, Windows) and the dev
/// server. The window never navigates anywhere else, and only these get the API key.
pub const APP_ORIGINS: [&str; 3] = ["tauri://localhost", "http://tauri.localhost", "http://localhost:1420"];

/// `scheme://host[:port]`, also for `tauri://` (whose URL origin is opaque).
pub fn origin_of(url: &tauri::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}", url.scheme()),
        (Some(h), None) => format!("{}://{h}", url.scheme()),
        _ => format!("{}:", url.scheme()),
    }
}

fn is_app_url(url: &tauri::Url) -> bool {
    APP_ORIGINS.contains(&origin_of(url).as_str())
}

/// Emitted to the window to open the Desktop Runtime dialog, with `{ "sidecar": string | null }`:
/// the row to show when a failure notification was clicked, `null` from the menu and tray.
pub const EVENT_OPEN_DIALOG: &str = "app://open-desktop-runtime";
/// The main window's label.
pub const MAIN_WINDOW: &str = "main";
const MENU_DIALOG: &str = "desktop-runtime";
const MENU_QUIT: &str = "quit";

/// The plugin as this app configures it. In a debug build it runs the repository's default
/// profile; a bundle uses its `runtime-profile.json` resource. Either way the sidecars are found
/// next to the executable: cargo builds the workspace's binaries into one directory
/// (`target/debug`), and a bundle installs them beside the app.
pub fn supervisor_plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    let builder = tauri_plugin_sidecar_supervisor::Builder::default().app_name(APP_NAME);
    #[cfg(debug_assertions)]
    let builder = {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        builder.profile(repo.join("profiles/local_fullstack.json"))
    };
    builder.build()
}

const APP_NAME: &str = "desktop-runtime";

/// The profile the plugin will run when no `RUNTIME_PROFILE_PATH` is set.
fn default_profile<R: Runtime>(ctx: &tauri::Context<R>) -> Option<std::path::PathBuf> {
    if cfg!(debug_assertions) {
        return Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/local_fullstack.json"));
    }
    let env = tauri::Env::default();
    tauri::utils::platform::resource_dir(ctx.package_info(), &env).ok().map(|d| d.join("runtime-profile.json"))
}

/// In `remote_slim` the UI talks to the profile's `backend_url`: its origin (that one only) is
/// added to the Content-Security-Policy's `connect-src`, which otherwise allows only the app
/// and loopback. Returns the URL for the handoff.
pub fn allow_remote_backend<R: Runtime>(ctx: &mut tauri::Context<R>) -> Option<String> {
    let profile = default_profile(ctx).filter(|p| p.is_file());
    let cfg = sidecar_supervisor_core::resolve_from_env(
        &sidecar_supervisor_core::profile::Overrides::default(),
        profile.as_deref(),
        APP_NAME,
    )
    .ok()?;
    allow_remote_backend_for(ctx, &cfg)
}

/// [`allow_remote_backend`] for settings already resolved.
pub fn allow_remote_backend_for<R: Runtime>(
    ctx: &mut tauri::Context<R>,
    cfg: &sidecar_supervisor_core::profile::RuntimeConfig,
) -> Option<String> {
    if cfg.mode != sidecar_supervisor_core::profile::Mode::RemoteSlim {
        return None;
    }
    let url = cfg.backend_url.clone()?;
    let origin = origin_of(&url.parse().ok()?);
    if let Some(tauri::utils::config::Csp::DirectiveMap(map)) = ctx.config_mut().app.security.csp.as_mut() {
        map.entry("connect-src".into()).or_default().push(&origin);
    }
    Some(url)
}

/// The unredacted remote backend URL in `remote_slim` (the status shows it redacted).
static REMOTE_BACKEND: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// What the app shows outside its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shell {
    /// The tray icon (needs a real event loop: GTK on Linux).
    pub tray: bool,
    /// Native notifications of failures.
    pub notifications: bool,
}

impl Shell {
    /// Everything: what `run` uses.
    pub const DESKTOP: Shell = Shell { tray: true, notifications: true };
}

/// Everything but the runtime, without tray or native notifications: what tests use with the
/// mock runtime (it has no GTK for a tray, and a test run must not pop notifications). The
/// health and incidents are still followed ([`monitor`]).
pub fn app<R: Runtime>(builder: tauri::Builder<R>, plugin: tauri::plugin::TauriPlugin<R>) -> tauri::Builder<R> {
    app_with(builder, plugin, Shell::default())
}

/// Everything but the runtime, with the given [`Shell`].
pub fn app_with<R: Runtime>(
    builder: tauri::Builder<R>,
    plugin: tauri::plugin::TauriPlugin<R>,
    shell: Shell,
) -> tauri::Builder<R> {
    builder
        .plugin(plugin)
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(tauri::generate_handler![folders::open_folder])
        .setup(move |app| {
            open_main_window(app.handle())?;
            if shell.tray {
                tray::create(app.handle());
            }
            monitor::start(app.handle(), shell.notifications);
            Ok(())
        })
        .on_menu_event(|app, event| {
            if event.id() == MENU_DIALOG {
                open_dialog(app, None);
            } else if event.id() == MENU_QUIT {
                app.exit(0);
            } else {
                tray::on_menu_event(app, &event.id().0);
            }
        })
}

/// Brings the main window forward: shown, restored, focused.
pub fn show_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN_WINDOW) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Opens the Desktop Runtime dialog ([`EVENT_OPEN_DIALOG`]), on `sidecar`'s row when given,
/// and brings the window forward.
pub fn open_dialog<R: Runtime>(app: &tauri::AppHandle<R>, sidecar: Option<&str>) {
    show_main_window(app);
    let _ = app.emit(EVENT_OPEN_DIALOG, json!({ "sidecar": sidecar }));
}

/// What the page finds in `window.__DESKTOP_RUNTIME__` before any of its scripts run: this
/// launch's API key, the mode, and in `remote_slim` the remote backend's URL as configured (the
/// status shows it redacted). Which backend URL the UI uses is the UI's one rule (`backendUrl`
/// in `ui/src/backend.ts`).
pub fn handoff_script<R: Runtime>(app: &tauri::AppHandle<R>) -> String {
    let sup = app.sidecar_supervisor();
    let status = sup.status().ok();
    let value = json!({
        "apiKey": sup.api_key(),
        "remoteBackendUrl": REMOTE_BACKEND.get().cloned().flatten(),
        "mode": status.as_ref().map(|s| s.mode.as_str()),
    });
    // Initialization scripts run on every top-level navigation: only the app's own pages get it.
    let origins = json!(APP_ORIGINS);
    format!(
        "if ({origins}.includes(window.location.origin)) {{ Object.defineProperty(window, '__DESKTOP_RUNTIME__', {{ value: Object.freeze({value}), writable: false, configurable: false }}); }}"
    )
}

fn open_main_window<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<()> {
    let menu = main_menu(app)?;
    let window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
        .title("Desktop Runtime")
        .inner_size(1100.0, 760.0)
        .min_inner_size(800.0, 600.0)
        .initialization_script(handoff_script(app))
        .on_navigation(is_app_url);
    // macOS has one menu bar for the whole app (a window menu is unsupported there); elsewhere
    // the menu belongs to the window.
    let window = if cfg!(target_os = "macos") {
        app.set_menu(menu)?;
        window
    } else {
        window.menu(menu)
    };
    window.build()?;
    Ok(())
}

/// The app's menu. Quit is a plain item on every OS: `app.exit` goes through RunEvent::Exit, so
/// the sidecars stop gracefully (the predefined Quit is not supported on GTK).
fn main_menu<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<tauri::menu::Menu<R>> {
    let item = MenuItemBuilder::with_id(MENU_DIALOG, "Desktop Runtime…").accelerator("CmdOrCtrl+Shift+D").build(app)?;
    let quit = MenuItemBuilder::with_id(MENU_QUIT, "Quit").accelerator("CmdOrCtrl+Q").build(app)?;
    if cfg!(target_os = "macos") {
        // The first submenu is the application menu (macOS titles it with the app's name). The
        // Edit menu is what makes Cmd+C/Cmd+V/Cmd+Z work in the page's text fields, and Window
        // gives Cmd+M and Cmd+W: a macOS webview gets none of them without these items.
        let app_menu = SubmenuBuilder::new(app, "Desktop Runtime")
            .about(None)
            .separator()
            .item(&item)
            .separator()
            .services()
            .separator()
            .hide()
            .hide_others()
            .show_all()
            .separator()
            .item(&quit)
            .build()?;
        let edit =
            SubmenuBuilder::new(app, "Edit").undo().redo().separator().cut().copy().paste().select_all().build()?;
        let window = SubmenuBuilder::new(app, "Window").minimize().fullscreen().separator().close_window().build()?;
        return MenuBuilder::new(app).item(&app_menu).item(&edit).item(&window).build();
    }
    MenuBuilder::new(app).item(&SubmenuBuilder::new(app, "App").item(&item).separator().item(&quit).build()?).build()
}

/// Runs the app.
pub fn run() {
    let mut context = tauri::generate_context!();
    let remote = allow_remote_backend(&mut context);
    REMOTE_BACKEND.get_or_init(|| remote);
    app_with(tauri::Builder::default(), supervisor_plugin(), Shell::DESKTOP)
        .run(context)
        .expect("error while running the desktop app");
}
