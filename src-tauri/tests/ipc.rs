//! Every plugin command through the app's real IPC path: the mock runtime with the app's real
//! generated context (its capability and the plugin's permissions apply), the URL of the
//! bundled page, and test-sidecars standing in for the stack so no PostgreSQL is needed.

use std::time::Duration;

use serde_json::{json, Value};
use sidecar_supervisor_core::testing::test_sidecar_bin;
use sidecar_supervisor_core::RuntimeStatus;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;

const T: Duration = Duration::from_secs(60);

const PROFILE: &str = r#"{
  "sidecars": [
    { "name": "api", "command": "test-sidecar", "args": ["--port", "announce", "--stdout-lines", "3"],
      "port": "announce", "ready": { "http": "/health/ready" } },
    { "name": "worker", "command": "test-sidecar", "replicas": 2, "depends_on": ["api"],
      "env": { "API": "{api.url}" } },
    { "name": "rpc", "command": "test-sidecar", "stdio": "jsonrpc" },
    { "name": "grpc", "command": "test-sidecar", "args": ["--protocol", "grpc", "--port", "announce"],
      "port": "announce", "ready": { "grpc": "" } }
  ]
}"#;

struct Harness {
    app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _tmp: tempfile::TempDir,
}

fn start() -> Harness {
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("profile.json");
    std::fs::write(&profile, PROFILE).unwrap();
    let plugin = tauri_plugin_sidecar_supervisor::Builder::default()
        .profile(&profile)
        .data_dir(tmp.path().join("data"))
        .bundled_dir(test_sidecar_bin().parent().unwrap())
        .build();
    let mut app =
        desktop_runtime_app::app(mock_builder(), plugin).build(tauri::generate_context!()).expect("the app builds");
    // The app's setup (which opens the window) runs with the event loop's first turn.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let window = app.get_webview_window("main").expect("setup opened the main window");
    let h = Harness { app, window, _tmp: tmp };
    h.wait("every sidecar ready", |s| s.sidecars.iter().all(|r| r.state.as_str() == "ready"));
    h
}

/// Calls a plugin command from `window`'s page (the bundled page's URL), as the UI would.
fn invoke_from(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    let req = InvokeRequest {
        cmd: format!("plugin:sidecar-supervisor|{cmd}"),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, req).map(|b| b.deserialize::<Value>().unwrap())
}

impl Harness {
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_from(&self.window, cmd, args)
    }

    fn wait(&self, what: &str, pred: impl Fn(&RuntimeStatus) -> bool) -> RuntimeStatus {
        let sup = self.app.sidecar_supervisor().supervisor().expect("the runtime started");
        tauri::async_runtime::block_on(sup.wait_for(T, pred))
            .unwrap_or_else(|st| panic!("timed out waiting for {what}: {st:#?}"))
    }

    fn row(&self, name: &str) -> Value {
        let st = self.invoke("desktop_runtime_status", json!({})).unwrap();
        st["sidecars"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned().unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Ok(sup) = self.app.sidecar_supervisor().supervisor() {
            sup.shutdown_blocking();
        }
    }
}

#[test]
fn status_and_diagnostics() {
    let h = start();
    let st = h.invoke("desktop_runtime_status", json!({})).unwrap();
    assert_eq!(st["mode"], "local_fullstack");
    let names: Vec<&str> = st["sidecars"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api", "worker#1", "worker#2", "rpc", "grpc"]);
    let api = h.row("api");
    assert!(api["pid"].is_u64() && api["port"].is_u64() && api["budget"]["max"] == 6, "{api}");
    assert!(api["last_probe"]["ok"] == true, "{api}");

    let d = h.invoke("desktop_runtime_diagnostics", json!({})).unwrap();
    assert!(d["feed_path"].as_str().unwrap().ends_with("runtime-events.json"));
    let kinds: Vec<&str> = d["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"runtime_started"), "{kinds:?}");
    assert!(kinds.contains(&"ready"));
    let two = h.invoke("desktop_runtime_diagnostics", json!({ "limit": 2 })).unwrap();
    assert_eq!(two["events"].as_array().unwrap().len(), 2);
    let e = h.invoke("desktop_runtime_diagnostics", json!({ "limit": -1 })).unwrap_err();
    assert_eq!(e, json!({ "kind": "invalid_argument", "message": "limit: -1 is negative" }));
}

#[test]
fn logs_and_bad_arguments_get_structured_errors() {
    let h = start();
    let lines = h.invoke("logs", json!({ "name": "api", "tail": 50 })).unwrap();
    let lines = lines.as_array().unwrap();
    assert!(lines.iter().any(|l| l["line"] == "line 3"), "{lines:?}");
    assert!(lines.iter().all(|l| l["stream"] == "stdout" || l["stream"] == "stderr"));
    assert_eq!(h.invoke("logs", json!({ "name": "api", "tail": 1 })).unwrap().as_array().unwrap().len(), 1);

    let e = h.invoke("logs", json!({ "name": "api", "tail": -5 })).unwrap_err();
    assert_eq!(e, json!({ "kind": "invalid_argument", "message": "tail: -5 is outside 0..=10000", "sidecar": "api" }));
    let e = h.invoke("logs", json!({ "name": "nope", "tail": 5 })).unwrap_err();
    assert_eq!(e["kind"], "unknown_sidecar");
    assert_eq!(e["sidecar"], "nope");
    assert!(e["message"].as_str().unwrap().contains("known: api, grpc, rpc, worker#1, worker#2"), "{e}");
    for verb in ["restart", "stop", "start"] {
        let e = h.invoke(verb, json!({ "name": "nope" })).unwrap_err();
        assert_eq!((e["kind"].as_str(), e["sidecar"].as_str()), (Some("unknown_sidecar"), Some("nope")), "{verb}: {e}");
    }
    // A missing argument is refused by Tauri before the command runs, with a sentence.
    let e = h.invoke("logs", json!({ "name": "api" })).unwrap_err();
    assert!(e.as_str().is_some_and(|m| m.contains("tail")), "{e}");
}

#[test]
fn restart_stop_and_start() {
    let h = start();
    let old = h.row("api")["pid"].as_u64().unwrap();
    let old_port = h.row("api")["port"].as_u64();
    let workers = [h.row("worker#1")["pid"].as_u64(), h.row("worker#2")["pid"].as_u64()];
    h.invoke("restart", json!({ "name": "api" })).unwrap();
    let st = h.wait("api back with a new pid", |s| {
        s.sidecars.iter().any(|r| r.name == "api" && r.state.as_str() == "ready" && r.pid.map(u64::from) != Some(old))
    });
    let moved = st.sidecars[0].port.map(u64::from) != old_port;
    // On a new port (announced), the workers follow it: they are restarted with the new URL.
    h.wait("every worker ready (with a new pid if the api moved)", |s| {
        s.sidecars[1..]
            .iter()
            .zip(workers)
            .all(|(r, was)| r.state.as_str() == "ready" && (!moved || r.pid.map(u64::from) != was))
    });

    h.invoke("stop", json!({ "name": "worker#2" })).unwrap();
    h.wait("worker#2 stopped", |s| s.sidecars.iter().any(|r| r.name == "worker#2" && r.state.as_str() == "stopped"));
    assert_eq!(h.row("worker#1")["state"], "ready", "only the one asked for");
    h.invoke("start", json!({ "name": "worker#2" })).unwrap();
    h.wait("worker#2 ready", |s| s.sidecars.iter().any(|r| r.name == "worker#2" && r.state.as_str() == "ready"));
}

/// `sidecar_info` asks a gRPC sidecar over the plugin's gRPC channel (`grpc_channel`, the one
/// app code gets): with the key, and still after a restart moved it to another port.
#[test]
fn sidecar_info_goes_over_the_grpc_channel_across_restarts() {
    let h = start();
    let info = h.invoke("sidecar_info", json!({ "name": "grpc" })).unwrap();
    assert_eq!(info["version"], "key-ok", "the launch's key rides along: {info}");
    assert_eq!(info["pid"], h.row("grpc")["pid"]);
    let (pid, port) = (h.row("grpc")["pid"].clone(), h.row("grpc")["port"].clone());
    h.invoke("restart", json!({ "name": "grpc" })).unwrap();
    h.wait("grpc back", |s| {
        s.sidecars.iter().any(|r| r.name == "grpc" && r.state.as_str() == "ready" && json!(r.pid) != pid)
    });
    assert_ne!(h.row("grpc")["port"], port, "announced a new port");
    let info = h.invoke("sidecar_info", json!({ "name": "grpc" })).unwrap();
    assert_eq!(info["pid"], h.row("grpc")["pid"], "the same channel followed it");
    let e = h.invoke("sidecar_info", json!({ "name": "nope" })).unwrap_err();
    assert_eq!(e["kind"], "unknown_sidecar", "{e}");
}

#[test]
fn pause_and_resume() {
    let h = start();
    let pid = h.row("api")["pid"].clone();
    h.invoke("pause", json!({ "name": "api" })).unwrap();
    h.wait("api paused", |s| s.sidecars.iter().any(|r| r.name == "api" && r.state.as_str() == "paused"));
    h.invoke("resume", json!({ "name": "api" })).unwrap();
    h.wait("api ready again", |s| s.sidecars.iter().any(|r| r.name == "api" && r.state.as_str() == "ready"));
    assert_eq!(h.row("api")["pid"], pid, "the same process, continued");
    h.invoke("stop", json!({ "name": "worker#1" })).unwrap();
    h.wait("worker#1 stopped", |s| s.sidecars.iter().any(|r| r.name == "worker#1" && r.state.as_str() == "stopped"));
    let e = h.invoke("pause", json!({ "name": "worker#1" })).unwrap_err();
    assert_eq!(e["kind"], "wrong_state", "{e}");
    assert_eq!(e["sidecar"], "worker#1");
    assert_eq!(e["message"], "cannot pause `worker#1`: it is stopped (only a running sidecar can be paused)");
}

#[test]
fn sidecar_request_returns_results_and_structured_errors() {
    let h = start();
    let call = |method: &str, params: Value, timeout_ms: i64| {
        h.invoke(
            "sidecar_request",
            json!({ "name": "rpc", "method": method, "params": params, "timeoutMs": timeout_ms }),
        )
    };
    assert_eq!(call("echo", json!({ "x": [1, 2] }), 5000).unwrap(), json!({ "x": [1, 2] }));
    let e = call("fail", Value::Null, 5000).unwrap_err();
    assert_eq!(
        (&e["kind"], &e["code"], &e["data"]),
        (&json!("remote"), &json!(-32000), &json!({ "why": "test" })),
        "{e}"
    );
    assert_eq!(e["sidecar"], "rpc");
    let e = call("sleep", json!({ "ms": 2000 }), 100).unwrap_err();
    assert_eq!(e["kind"], "timeout", "{e}");
    assert_eq!(e["message"], "`rpc` did not answer `sleep` within 100 ms");
    let e = call("echo", Value::Null, 0).unwrap_err();
    assert_eq!(e["kind"], "invalid_argument", "{e}");
    let e = h.invoke("sidecar_request", json!({ "name": "api", "method": "echo", "timeoutMs": 100 })).unwrap_err();
    assert_eq!(e["kind"], "not_jsonrpc", "{e}");
    let e = h.invoke("sidecar_request", json!({ "name": "rpc", "method": 5, "timeoutMs": 100 })).unwrap_err();
    assert!(e.as_str().is_some_and(|m| m.contains("method")), "a wrong type is refused by name: {e}");

    assert_eq!(call("notify", json!({ "count": 3 }), 5000).unwrap(), json!(3));
    let kept = h.invoke("sidecar_messages", json!({ "name": "rpc", "limit": 10 })).unwrap();
    let kept = kept.as_array().unwrap();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert_eq!(
        (&kept[2]["method"], &kept[2]["params"]["i"], &kept[2]["sidecar"]),
        (&json!("tick"), &json!(2), &json!("rpc"))
    );
}

#[test]
fn the_page_gets_the_api_key_before_it_loads_and_nowhere_else() {
    let h = start();
    let key = h.app.sidecar_supervisor().api_key().unwrap().to_string();
    let script = desktop_runtime_app::handoff_script(h.app.handle());
    assert!(script.starts_with("if ([\"tauri://localhost\",\"http://tauri.localhost\",\"http://localhost:1420\"].includes(window.location.origin))"), "{script}");
    assert!(script.contains(&format!("\"apiKey\":\"{key}\"")));
    let everything = format!(
        "{}{}",
        h.invoke("desktop_runtime_status", json!({})).unwrap(),
        h.invoke("desktop_runtime_diagnostics", json!({})).unwrap()
    );
    assert!(!everything.contains(&key), "the key must not appear in status or diagnostics");
}

#[test]
fn export_writes_the_chosen_feed_events_under_the_data_dir_only() {
    let h = start();
    let events = h.invoke("desktop_runtime_diagnostics", json!({ "limit": 3 })).unwrap()["events"].clone();
    let seqs: Vec<u64> = events.as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let path = h.invoke("export_events", json!({ "seqs": seqs })).unwrap();
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    let data_dir = h.invoke("desktop_runtime_status", json!({})).unwrap()["data_dir"].as_str().unwrap().to_string();
    assert!(path.starts_with(std::path::Path::new(&data_dir).join("exports")), "{}", path.display());
    let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(written, events, "the engine's own events, not the caller's text");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = h.invoke("export_events", json!({ "seqs": seqs })).unwrap();
    assert_ne!(again.as_str().unwrap(), path.to_str().unwrap(), "two exports never overwrite each other");
    let too_many: Vec<u64> = (0..10_001).collect();
    let e = h.invoke("export_events", json!({ "seqs": too_many })).unwrap_err();
    assert_eq!(e["kind"], "invalid_argument", "{e}");
}

#[test]
fn whole_log_export_bundle_and_watch_through_ipc_with_structured_errors() {
    let h = start();
    let chunk = json!("__CHANNEL__:4242");
    // The whole log: the total comes back, the bytes go on the channel; the JSON path (for the
    // measurement) carries the same bytes.
    let total = h.invoke("log_history", json!({ "name": "api", "onChunk": chunk })).unwrap();
    let array = h.invoke("log_history", json!({ "name": "api", "onChunk": chunk, "encoding": "json" })).unwrap();
    let bytes: Vec<u8> = array.as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
    assert_eq!(total.as_u64().unwrap() as usize, bytes.len());
    assert!(String::from_utf8(bytes).unwrap().contains("stdout line 3"));
    let e = h.invoke("log_history", json!({ "name": "api", "onChunk": chunk, "encoding": "base64" })).unwrap_err();
    assert_eq!(e["kind"], "invalid_argument", "{e}");
    assert!(e["message"].as_str().unwrap().contains("base64"), "{e}");
    let e = h.invoke("log_history", json!({ "name": "worker", "onChunk": chunk })).unwrap_err();
    assert_eq!(e["kind"], "invalid_argument");
    assert!(e["message"].as_str().unwrap().contains("worker#1, worker#2"), "{e}");

    // Exports go where the save dialog pointed, whole, through a file renamed into place.
    let out = h._tmp.path().join("api-export.log");
    let n = h.invoke("export_log", json!({ "name": "api", "path": out.to_str().unwrap() })).unwrap();
    assert_eq!(n.as_u64().unwrap(), std::fs::metadata(&out).unwrap().len());
    assert!(std::fs::read_to_string(&out).unwrap().contains("stdout line 3"));
    for (path, why) in [("relative.log", "not absolute"), ("/no/such/dir/x.log", "does not exist")] {
        let e = h.invoke("export_log", json!({ "name": "api", "path": path })).unwrap_err();
        assert_eq!(e["kind"], "invalid_argument", "{e}");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let e = h.invoke("diagnostics_bundle", json!({ "path": h._tmp.path().to_str().unwrap() })).unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("not a regular file"), "{e}");
    let zip = h._tmp.path().join("bundle.zip");
    let n = h.invoke("diagnostics_bundle", json!({ "path": zip.to_str().unwrap() })).unwrap();
    assert!(n.as_u64().unwrap() > 0 && std::fs::read(&zip).unwrap().starts_with(b"PK"), "a zip");

    // Watching: a known log and the resources; an unknown log names the known ones.
    h.invoke("watch", json!({ "log": "api", "resources": true })).unwrap();
    let e = h.invoke("watch", json!({ "log": "nope", "resources": false })).unwrap_err();
    assert_eq!(e["kind"], "unknown_sidecar", "{e}");
    let st = h.wait("a resources sample in the status", |s| s.sidecars.iter().any(|r| r.resources.is_some()));
    let api = st.sidecars.iter().find(|r| r.name == "api").unwrap();
    assert!(api.resources.is_some_and(|r| r.rss_bytes > 0), "{api:?}");
}

#[test]
fn only_the_apps_own_pages_are_loaded() {
    use desktop_runtime_app::{origin_of, APP_ORIGINS};
    for (url, ok) in [
        ("tauri://localhost/index.html", true),
        ("http://tauri.localhost/", true),
        ("http://localhost:1420/src/main.tsx", true),
        ("https://evil.example/", false),
        ("http://localhost:1421/", false),
        ("tauri://evil/", false),
    ] {
        let u: tauri::Url = url.parse().unwrap();
        assert_eq!(APP_ORIGINS.contains(&origin_of(&u).as_str()), ok, "{url}");
    }
}

/// remote_slim: the UI must reach the remote backend, and only it, besides the app and loopback.
#[test]
fn remote_slim_adds_only_the_backend_origin_to_the_csp() {
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/remote_slim.json");
    let overrides = sidecar_supervisor_core::profile::Overrides { profile_path: Some(profile), ..Default::default() };
    let cfg =
        sidecar_supervisor_core::profile::resolve(&overrides, &|_| None, Default::default(), None, "desktop-runtime")
            .unwrap();
    let mut ctx: tauri::Context<MockRuntime> = tauri::generate_context!();
    let url = desktop_runtime_app::allow_remote_backend_for(&mut ctx, &cfg);
    assert_eq!(url.as_deref(), Some("https://jobs.example.com"));
    let csp = serde_json::to_string(&ctx.config().app.security.csp).unwrap();
    assert!(csp.contains("https://jobs.example.com"), "{csp}");
    assert!(!csp.contains("https:*") && !csp.contains("\"https:\""), "{csp}");
}

/// The plugin's default permission set is read-only: a window granted only that can read the
/// runtime but not restart, stop or start anything (nor export).
#[test]
fn the_default_permission_set_cannot_change_what_runs() {
    let h = start();
    h.app
        .add_capability(
            tauri::ipc::CapabilityBuilder::new("read-only").window("readonly").permission("sidecar-supervisor:default"),
        )
        .unwrap();
    let ro = tauri::WebviewWindowBuilder::new(&h.app, "readonly", Default::default()).build().unwrap();
    let call = |cmd: &str, args: Value| invoke_from(&ro, cmd, args);
    assert!(call("desktop_runtime_status", json!({})).is_ok());
    assert!(call("logs", json!({ "name": "api", "tail": 5 })).is_ok());
    let pid = h.row("api")["pid"].clone();
    for (cmd, args) in [
        ("restart", json!({ "name": "api" })),
        ("stop", json!({ "name": "api" })),
        ("start", json!({ "name": "api" })),
        ("export_events", json!({ "seqs": [1] })),
        ("pause", json!({ "name": "api" })),
        ("resume", json!({ "name": "api" })),
        ("sidecar_request", json!({ "name": "rpc", "method": "echo", "timeoutMs": 1000 })),
        ("sidecar_messages", json!({ "name": "rpc", "limit": 10 })),
    ] {
        let e = call(cmd, args).unwrap_err();
        assert!(e.as_str().is_some_and(|m| m.contains("not allowed")), "{cmd}: {e}");
    }
    assert_eq!(h.row("api")["pid"], pid, "nothing was restarted");
}

/// The menu carries the dialog item and a Quit that goes through the app's exit path (Cmd+Q on
/// macOS, Ctrl+Q elsewhere): on macOS the menu is the app's, elsewhere the window's.
#[test]
fn the_menu_has_the_dialog_item_and_quit() {
    let h = start();
    let menu = if cfg!(target_os = "macos") { h.app.menu() } else { h.window.menu() }.expect("a menu is set");
    let mut found = Vec::new();
    for entry in menu.items().unwrap() {
        let Some(sub) = entry.as_submenu() else { continue };
        for item in sub.items().unwrap() {
            if let Some(item) = item.as_menuitem() {
                found.push((item.id().0.clone(), item.text().unwrap()));
            }
        }
    }
    assert!(found.contains(&("desktop-runtime".into(), "Desktop Runtime…".into())), "{found:?}");
    assert!(found.contains(&("quit".into(), "Quit".into())), "{found:?}");
}

/// The control socket (`desktop-runtime ctl`) and the plugin answer the same refusal with the
/// same error: one kind, one message, the same sidecar, whichever door it came through.
#[test]
fn the_control_socket_and_the_plugin_refuse_alike() {
    use sidecar_supervisor_core::ctl::{self, CtlRequest};
    use sidecar_supervisor_core::DataDirLayout;
    use sidecar_supervisor_core::Verb;
    let h = start();
    let sup = h.app.sidecar_supervisor().supervisor().unwrap().clone();
    let layout = DataDirLayout::new(sup.status().data_dir);
    let name = |n: &str| n.to_string();
    let cases: Vec<(&str, Value, CtlRequest)> = vec![
        ("pause", json!({ "name": "nope" }), CtlRequest::Command { verb: Verb::Pause, name: name("nope") }),
        ("resume", json!({ "name": "api" }), CtlRequest::Command { verb: Verb::Resume, name: name("api") }),
        (
            "sidecar_request",
            json!({ "name": "api", "method": "echo", "timeoutMs": 100 }),
            CtlRequest::Request { name: name("api"), method: "echo".into(), params: None, timeout_ms: 100 },
        ),
        (
            "sidecar_request",
            json!({ "name": "rpc", "method": "echo", "timeoutMs": 0 }),
            CtlRequest::Request { name: name("rpc"), method: "echo".into(), params: None, timeout_ms: 0 },
        ),
        (
            "sidecar_request",
            json!({ "name": "rpc", "method": "", "timeoutMs": 100 }),
            CtlRequest::Request { name: name("rpc"), method: String::new(), params: None, timeout_ms: 100 },
        ),
    ];
    tauri::async_runtime::block_on(async {
        let _endpoint = ctl::serve(sup.clone(), &layout).expect("the control socket listens");
        for (cmd, args, req) in cases {
            let plugin = h.invoke(cmd, args.clone()).unwrap_err();
            let answer = ctl::call(&layout, &req).await.expect("the control socket answers");
            assert!(!answer.ok, "{cmd} {args}: {answer:?}");
            let by_ctl = serde_json::to_value(answer.error.expect("an error")).unwrap();
            assert_eq!(by_ctl, plugin, "{cmd} {args}: the control socket and the plugin differ");
        }
    });
}
