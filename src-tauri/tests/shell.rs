//! What the app does around its window, with the mock runtime and the app's real generated
//! context: the health the tray shows and its menu, one alert per failure incident, the dialog
//! event with its row, and the `open_folder` command through the real IPC path and capability.
//! The tray icon itself and native notifications need a desktop session; the mock runtime has
//! neither, so these check what feeds them.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sidecar_supervisor_core::testing::test_sidecar_bin;
use sidecar_supervisor_core::RuntimeStatus;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager, WebviewWindow};
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;

use desktop_runtime_app::health::{Health, Level};
use desktop_runtime_app::{monitor, tray};

const T: Duration = Duration::from_secs(60);

const CRASHY: &str = r#"{
  "sidecars": [
    { "name": "api", "command": "test-sidecar", "args": ["--port", "announce"],
      "port": "announce", "ready": { "http": "/health/ready" } },
    { "name": "crashy", "command": "test-sidecar", "args": ["--crash-after-ms", "0", "--exit-code", "3"],
      "restart": { "max_restarts": 2, "window_secs": 60, "backoff_initial_ms": 10, "backoff_max_ms": 50 } }
  ]
}"#;

const HEALTHY: &str = r#"{
  "sidecars": [
    { "name": "api", "command": "test-sidecar", "args": ["--port", "announce"],
      "port": "announce", "ready": { "http": "/health/ready" } },
    { "name": "worker", "command": "test-sidecar", "replicas": 2, "depends_on": ["api"] }
  ]
}"#;

struct Harness {
    app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _tmp: tempfile::TempDir,
}

fn start(profile_json: &str) -> Harness {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("profile.json");
    std::fs::write(&profile, profile_json).unwrap();
    let plugin = tauri_plugin_sidecar_supervisor::Builder::default()
        .profile(&profile)
        .data_dir(tmp.path().join("data"))
        .bundled_dir(test_sidecar_bin().parent().unwrap())
        .build();
    let mut app =
        desktop_runtime_app::app(mock_builder(), plugin).build(tauri::generate_context!()).expect("the app builds");
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let window = app.get_webview_window("main").expect("setup opened the main window");
    Harness { app, window, _tmp: tmp }
}

impl Harness {
    fn invoke(&self, window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
        let req = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(window, req).map(|b| b.deserialize::<Value>().unwrap())
    }

    fn wait(&self, what: &str, pred: impl Fn(&RuntimeStatus) -> bool) -> RuntimeStatus {
        let sup = self.app.sidecar_supervisor().supervisor().expect("the runtime started");
        tauri::async_runtime::block_on(sup.wait_for(T, pred))
            .unwrap_or_else(|st| panic!("timed out waiting for {what}: {st:#?}"))
    }

    /// Waits for the health the tray shows (the listener runs on its own task).
    fn wait_health(&self, what: &str, pred: impl Fn(&Health) -> bool) -> Health {
        let until = Instant::now() + T;
        loop {
            let h = monitor::health(self.app.handle());
            if let Some(h) = h.as_ref().filter(|h| pred(h)) {
                return h.clone();
            }
            assert!(Instant::now() < until, "timed out waiting for {what}: {h:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn state(&self, name: &str) -> String {
        let st = self.app.sidecar_supervisor().status().unwrap();
        st.sidecars.iter().find(|r| r.name == name).unwrap().state.as_str().to_string()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Ok(sup) = self.app.sidecar_supervisor().supervisor() {
            sup.shutdown_blocking();
        }
    }
}

/// The tray menu's items as (id, text, enabled).
fn menu_items(h: &Harness, health: &Health) -> Vec<(String, String, bool)> {
    let menu = tray::menu(h.app.handle(), health).unwrap();
    menu.items()
        .unwrap()
        .iter()
        .filter_map(|i| i.as_menuitem().map(|m| (m.id().0.clone(), m.text().unwrap(), m.is_enabled().unwrap())))
        .collect()
}

#[test]
fn a_healthy_stack_is_green_with_no_restart_item_and_no_alert() {
    let h = start(HEALTHY);
    h.wait("every sidecar ready", |s| s.sidecars.iter().all(|r| r.state.as_str() == "ready"));
    let health = h.wait_health("ready", |h| h.level == Level::Ready);
    assert_eq!(health.summary, "all 3 sidecars ready");
    assert_eq!(desktop_runtime_app::health::tooltip(&health), "Desktop Runtime — all 3 sidecars ready");
    assert_eq!(
        menu_items(&h, &health),
        [
            ("tray:status".into(), "All 3 sidecars ready".into(), false),
            ("tray:open".into(), "Open".into(), true),
            ("tray:desktop-runtime".into(), "Desktop Runtime…".into(), true),
            ("tray:no-failed".into(), "No failed sidecar".into(), false),
            ("tray:quit".into(), "Quit".into(), true),
        ]
    );
    assert!(monitor::alerts(h.app.handle()).is_empty());

    // Stopping one on purpose is no incident, but the tray turns amber.
    h.invoke(&h.window, "plugin:sidecar-supervisor|stop", json!({ "name": "worker#2" })).unwrap();
    let health = h.wait_health("worker#2 stopped", |h| h.summary == "degraded: worker#2 stopped");
    assert_eq!(health.level, Level::Degraded);
    assert!(monitor::alerts(h.app.handle()).is_empty());
}

/// A plain HTTP server on loopback that answers 200 to everything: the remote backend of a
/// remote_slim stack (plain http is allowed to 127.0.0.1).
fn remote_backend() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
                    if conn.write_all(ok).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// remote_slim runs no database and no backend here: the backend row is the remote one, the
/// database is not run in this mode. Once every part that runs is ready, the tray is green.
#[test]
fn a_remote_slim_stack_whose_running_parts_are_ready_is_green() {
    let port = remote_backend();
    let profile = format!(
        r#"{{
  "mode": "remote_slim",
  "backend_url": "http://127.0.0.1:{port}",
  "sidecars": [
    {{ "name": "database", "role": "database", "command": "test-sidecar" }},
    {{ "name": "backend", "role": "backend", "command": "test-sidecar", "args": ["--port", "announce"],
      "port": "announce", "depends_on": ["database"], "ready": {{ "http": "/health/ready" }} }},
    {{ "name": "worker", "command": "test-sidecar", "replicas": 2, "depends_on": ["backend"] }}
  ]
}}"#
    );
    let h = start(&profile);
    h.wait("the remote backend and both workers ready", |s| {
        ["backend", "worker#1", "worker#2"]
            .iter()
            .all(|n| s.sidecars.iter().any(|r| r.name == *n && r.state.as_str() == "ready"))
    });
    let health = h.wait_health("green", |h| h.level != Level::Starting);
    assert_eq!(health.level, Level::Ready, "{health:?}");
    assert_eq!(health.summary, "all 3 sidecars ready");
}

#[test]
fn a_crash_loop_alerts_once_and_the_tray_offers_its_restart() {
    let h = start(CRASHY);
    h.wait("crashy failed", |s| s.sidecars.iter().any(|r| r.name == "crashy" && r.state.as_str() == "failed"));
    let health = h.wait_health("failed", |h| h.level == Level::Failed);
    assert_eq!(health.summary, "failed: crashy");
    assert_eq!(health.failed, ["crashy"]);
    let items = menu_items(&h, &health);
    assert!(items.contains(&("tray:restart:crashy".into(), "Restart crashy".into(), true)), "{items:?}");
    assert!(!items.iter().any(|i| i.0 == "tray:no-failed"), "{items:?}");

    let alerts = monitor::alerts(h.app.handle());
    assert_eq!(alerts.len(), 1, "one incident, however many restarts: {alerts:?}");
    assert_eq!(alerts[0].sidecar.as_deref(), Some("crashy"));
    // The engine sends the `budget_exhausted` event and the `failed` row; the first one seen
    // opens the incident.
    assert!(["crashy spent its restart budget", "crashy failed"].contains(&alerts[0].title.as_str()), "{alerts:?}");
    assert!(alerts[0].body.contains("restart budget spent (2 restarts in 60 s)"), "{:?}", alerts[0]);

    // "Restart crashy" from the tray: it runs again, crash-loops again (`ready` for an instant
    // each time: it has no probe) and fails again: the same incident, no second alert.
    let spawned = |h: &Harness| {
        let sup = h.app.sidecar_supervisor().supervisor().unwrap();
        sup.events(None)
            .iter()
            .filter(|e| e.sidecar.as_deref() == Some("crashy") && e.kind.as_str() == "spawned")
            .count()
    };
    let before = spawned(&h);
    assert!(tray::on_menu_event(h.app.handle(), "tray:restart:crashy"));
    let until = Instant::now() + T;
    while !(spawned(&h) > before && h.state("crashy") == "failed") {
        assert!(Instant::now() < until, "crashy was not restarted, or did not fail again");
        std::thread::sleep(Duration::from_millis(20));
    }
    h.wait_health("failed again", |h| h.level == Level::Failed);
    assert_eq!(monitor::alerts(h.app.handle()).len(), 1);
    assert!(!tray::on_menu_event(h.app.handle(), "not-a-tray-item"));
}

#[test]
fn the_dialog_event_carries_the_row_to_show() {
    let h = start(HEALTHY);
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = got.clone();
    h.app.listen_any(desktop_runtime_app::EVENT_OPEN_DIALOG, move |e| {
        sink.lock().unwrap().push(serde_json::from_str(e.payload()).unwrap());
    });
    desktop_runtime_app::open_dialog(h.app.handle(), Some("worker#1"));
    assert!(tray::on_menu_event(h.app.handle(), "tray:desktop-runtime"));
    assert!(tray::on_menu_event(h.app.handle(), "tray:open"));
    assert_eq!(*got.lock().unwrap(), [json!({ "sidecar": "worker#1" }), json!({ "sidecar": null })]);
}

#[test]
fn open_folder_refuses_anything_but_data_or_logs_by_name() {
    let h = start(HEALTHY);
    let e = h.invoke(&h.window, "open_folder", json!({ "which": "exports" })).unwrap_err();
    assert_eq!(e, json!("unknown folder \"exports\": expected \"data\" or \"logs\""));
    let e = h.invoke(&h.window, "open_folder", json!({ "which": "../../etc" })).unwrap_err();
    assert_eq!(e, json!("unknown folder \"../../etc\": expected \"data\" or \"logs\""));
    // Missing or mistyped, Tauri refuses it before the command runs, naming the argument.
    let e = h.invoke(&h.window, "open_folder", json!({})).unwrap_err();
    assert!(e.as_str().is_some_and(|m| m.contains("which")), "{e}");
    let e = h.invoke(&h.window, "open_folder", json!({ "which": 1 })).unwrap_err();
    assert!(e.as_str().is_some_and(|m| m.contains("which")), "{e}");

    // Only the main window's capability grants it.
    let other = tauri::WebviewWindowBuilder::new(&h.app, "other", Default::default()).build().unwrap();
    let e = h.invoke(&other, "open_folder", json!({ "which": "logs" })).unwrap_err();
    assert!(e.as_str().is_some_and(|m| m.contains("not allowed")), "{e}");
}
