//! Settings precedence: CLI flag > environment > profile > built-in default, for the profile
//! path, the mode, the data dir (and the embedding app's own default data dir), the backend URL
//! and auto-restart.

mod profile_helpers;

use profile_helpers::{profile, write, APP, ONE};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sidecar_supervisor_core::profile::default_data_dir_for;
use sidecar_supervisor_core::profile::{Mode, Overrides, ProfileError, RuntimeConfig};
use sidecar_supervisor_core::{default_data_dir, resolve_settings as resolve};

struct Env(HashMap<String, String>);

impl Env {
    fn new(pairs: &[(&str, &str)]) -> Env {
        Env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }
    fn resolve(&self, cli: &Overrides, default: Option<&Path>) -> Result<RuntimeConfig, ProfileError> {
        resolve(cli, &|k| self.0.get(k).cloned(), default, APP)
    }
}

fn cli(profile: &Path) -> Overrides {
    Overrides { profile_path: Some(profile.to_path_buf()), ..Default::default() }
}

#[test]
fn profile_path_flag_beats_env_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let (flag, env, default) = (
        write(d.path(), "flag.json", &profile("", ONE)),
        write(d.path(), "env.json", &profile("", ONE)),
        write(d.path(), "default.json", &profile("", ONE)),
    );
    let e = Env::new(&[("RUNTIME_PROFILE_PATH", env.to_str().unwrap())]);
    assert_eq!(e.resolve(&cli(&flag), Some(&default)).unwrap().profile_path, flag);
    assert_eq!(e.resolve(&Overrides::default(), Some(&default)).unwrap().profile_path, env);
    let none = Env::new(&[("RUNTIME_PROFILE_PATH", "")]); // empty counts as unset
    assert_eq!(none.resolve(&Overrides::default(), Some(&default)).unwrap().profile_path, default);
    let err = none.resolve(&Overrides::default(), None).unwrap_err();
    assert!(err.fix.contains("--runtime-profile") && err.fix.contains("RUNTIME_PROFILE_PATH"), "{err}");
}

#[test]
fn mode_flag_beats_env_beats_profile_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let slim =
        write(d.path(), "slim.json", &profile(r#""mode": "remote_slim", "backend_url": "https://b.example","#, ONE));
    let plain = write(d.path(), "plain.json", &profile("", ONE));
    let env_full = Env::new(&[("RUNTIME_MODE", "local_fullstack")]);
    let env_slim = Env::new(&[("RUNTIME_MODE", "remote_slim"), ("BACKEND_URL", "https://e.example")]);
    let no_env = Env::new(&[]);
    let flag_slim = Overrides { mode: Some(Mode::RemoteSlim), ..cli(&slim) };
    assert_eq!(env_full.resolve(&flag_slim, None).unwrap().mode, Mode::RemoteSlim);
    let flag_full = Overrides { mode: Some(Mode::LocalFullstack), ..cli(&plain) };
    assert_eq!(env_slim.resolve(&flag_full, None).unwrap().mode, Mode::LocalFullstack);
    assert_eq!(env_full.resolve(&cli(&slim), None).unwrap().mode, Mode::LocalFullstack);
    assert_eq!(env_slim.resolve(&cli(&plain), None).unwrap().mode, Mode::RemoteSlim);
    let c = no_env.resolve(&cli(&slim), None).unwrap();
    assert_eq!((c.mode, c.profile.mode), (Mode::RemoteSlim, Mode::RemoteSlim));
    assert_eq!(no_env.resolve(&cli(&plain), None).unwrap().mode, Mode::LocalFullstack);
}

#[test]
fn bogus_mode_in_env_names_the_variable() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.json", &profile("", ONE));
    let e = Env::new(&[("RUNTIME_MODE", "bogus")]).resolve(&cli(&p), None).unwrap_err();
    assert!(e.source.contains("RUNTIME_MODE"), "{e}");
    assert!(e.message.contains("bogus"), "{e}");
    assert!(e.fix.contains("local_fullstack") && e.fix.contains("remote_slim"), "{e}");
    assert!(e.to_string().contains("RUNTIME_MODE"), "{e}");
}

#[test]
fn data_dir_flag_beats_env_beats_profile_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let abs = d.path().join("from-profile");
    let with = write(d.path(), "with.json", &profile(&format!(r#""data_dir": {:?},"#, abs.to_str().unwrap()), ONE));
    let without = write(d.path(), "without.json", &profile("", ONE));
    let env = Env::new(&[("RUNTIME_DATA_DIR", "/tmp/from-env")]);
    let flag = Overrides { data_dir: Some(PathBuf::from("/tmp/from-flag")), ..cli(&with) };
    assert_eq!(env.resolve(&flag, None).unwrap().data_dir, PathBuf::from("/tmp/from-flag"));
    assert_eq!(env.resolve(&cli(&with), None).unwrap().data_dir, PathBuf::from("/tmp/from-env"));
    let no_env = Env::new(&[]);
    assert_eq!(no_env.resolve(&cli(&with), None).unwrap().data_dir, abs);
    assert_eq!(no_env.resolve(&cli(&without), None).unwrap().data_dir, default_data_dir(APP));
    // The app's own data dir replaces the built-in default, and nothing else (not as root on
    // Linux: see below).
    let app_dir = PathBuf::from("/tmp/app-data-dir");
    let app = |p: &Path| Overrides { default_data_dir: Some(app_dir.clone()), ..cli(p) };
    assert_eq!(no_env.resolve(&app(&with), None).unwrap().data_dir, abs);
    let root_linux = cfg!(target_os = "linux") && sidecar_supervisor_core::testing::internals::platform::is_root();
    let want = if root_linux { default_data_dir(APP) } else { app_dir.clone() };
    assert_eq!(no_env.resolve(&app(&without), None).unwrap().data_dir, want);
}

/// Root's home is 0700: a data dir in it is out of reach for sidecars that drop to a `user`.
#[test]
fn default_data_dir_of_root_is_under_var_lib() {
    assert_eq!(default_data_dir_for(APP, true), PathBuf::from("/var/lib").join(APP));
    assert!(!default_data_dir_for(APP, false).starts_with("/var/lib"));
    let root = sidecar_supervisor_core::testing::internals::platform::is_root();
    let want = default_data_dir_for(APP, root && cfg!(target_os = "linux"));
    assert_eq!(default_data_dir(APP), want);
    let d = tempfile::tempdir().unwrap();
    let without = write(d.path(), "p.json", &profile("", ONE));
    assert_eq!(Env::new(&[]).resolve(&cli(&without), None).unwrap().data_dir, want);
}

#[test]
fn relative_profile_data_dir_is_relative_to_the_profile() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "conf/app/profile.json", &profile(r#""data_dir": "state/here","#, ONE));
    let c = Env::new(&[]).resolve(&cli(&p), None).unwrap();
    assert_eq!(c.data_dir, d.path().join("conf/app/state/here"));
}

#[test]
fn backend_url_flag_beats_env_beats_profile() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.json", &profile(r#""backend_url": "https://profile.example","#, ONE));
    let bare = write(d.path(), "bare.json", &profile("", ONE));
    let env = Env::new(&[("BACKEND_URL", "https://env.example")]);
    let flag = Overrides { backend_url: Some("https://flag.example".into()), ..cli(&p) };
    assert_eq!(env.resolve(&flag, None).unwrap().backend_url.as_deref(), Some("https://flag.example"));
    let c = env.resolve(&cli(&p), None).unwrap();
    assert_eq!(c.backend_url.as_deref(), Some("https://env.example"));
    assert_eq!(c.profile.backend_url.as_deref(), Some("https://env.example"));
    assert_eq!(Env::new(&[]).resolve(&cli(&p), None).unwrap().backend_url.as_deref(), Some("https://profile.example"));
    assert_eq!(Env::new(&[]).resolve(&cli(&bare), None).unwrap().backend_url, None);
}

#[test]
fn insecure_backend_url_from_env_names_the_variable() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.json", &profile("", ONE));
    let e = Env::new(&[("BACKEND_URL", "http://example.com")]).resolve(&cli(&p), None).unwrap_err();
    assert!(e.source.contains("BACKEND_URL"), "{e}");
    assert_eq!(e.path, "$.backend_url");
    assert!(e.fix.contains("https://"), "{e}");
}

#[test]
fn remote_slim_profile_takes_backend_url_from_env_or_flag() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "slim.json", &profile(r#""mode": "remote_slim","#, ONE));
    let c = Env::new(&[("BACKEND_URL", "https://env.example")]).resolve(&cli(&p), None).unwrap();
    assert_eq!((c.mode, c.backend_url.as_deref()), (Mode::RemoteSlim, Some("https://env.example")));
    let flag = Overrides { backend_url: Some("https://flag.example".into()), ..cli(&p) };
    assert_eq!(Env::new(&[]).resolve(&flag, None).unwrap().backend_url.as_deref(), Some("https://flag.example"));
    let local = Overrides { mode: Some(Mode::LocalFullstack), ..cli(&p) };
    assert_eq!(Env::new(&[]).resolve(&local, None).unwrap().mode, Mode::LocalFullstack);
    let e = Env::new(&[]).resolve(&cli(&p), None).unwrap_err();
    assert_eq!((e.source.as_str(), e.path.as_str()), (p.to_str().unwrap(), "$.backend_url"), "{e}");
    assert!(e.fix.contains("BACKEND_URL"), "{e}");
}

#[test]
fn no_auto_restart_flag_beats_env_beats_profile_beats_default() {
    let d = tempfile::tempdir().unwrap();
    let off = write(d.path(), "off.json", &profile(r#""auto_restart": false,"#, ONE));
    let on = write(d.path(), "on.json", &profile("", ONE));
    let env_on = Env::new(&[("RUNTIME_NO_AUTO_RESTART", "0")]);
    let env_off = Env::new(&[("RUNTIME_NO_AUTO_RESTART", "yes")]);
    let flag = Overrides { no_auto_restart: true, ..cli(&on) };
    assert!(!env_on.resolve(&flag, None).unwrap().auto_restart, "flag beats env");
    assert!(!env_off.resolve(&cli(&on), None).unwrap().auto_restart, "env beats profile");
    assert!(env_on.resolve(&cli(&off), None).unwrap().auto_restart, "env beats profile");
    let c = Env::new(&[]).resolve(&cli(&off), None).unwrap();
    assert!(!c.auto_restart && !c.profile.auto_restart, "profile beats default");
    assert!(Env::new(&[]).resolve(&cli(&on), None).unwrap().auto_restart, "default is on");
    let e = Env::new(&[("RUNTIME_NO_AUTO_RESTART", "maybe")]).resolve(&cli(&on), None).unwrap_err();
    assert!(e.source.contains("RUNTIME_NO_AUTO_RESTART") && e.message.contains("maybe"), "{e}");
}

#[test]
fn bin_override_by_sidecar_name_and_by_command_name() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "p.json",
        &profile(
            "",
            r#"{ "name": "database", "command": "postgres" },
               { "name": "my-worker", "command": "/opt/app/bin/worker" },
               { "name": "api", "command": "backend" }"#,
        ),
    );
    let by_command = Env::new(&[("POSTGRES_BIN", "/usr/lib/pg/postgres"), ("WORKER_BIN", "/w")]);
    let c = by_command.resolve(&cli(&p), None).unwrap();
    assert_eq!(c.bin_overrides.get("database"), Some(&PathBuf::from("/usr/lib/pg/postgres")));
    assert_eq!(c.bin_overrides.get("my-worker"), Some(&PathBuf::from("/w")), "command's file name");
    assert_eq!(c.bin_overrides.get("api"), None);
    let both = Env::new(&[
        ("POSTGRES_BIN", "/by-command"),
        ("DATABASE_BIN", "/by-name"),
        ("MY_WORKER_BIN", "/mw"),
        ("API_BIN", ""),
    ]);
    let c = both.resolve(&cli(&p), None).unwrap();
    assert_eq!(c.bin_overrides.get("database"), Some(&PathBuf::from("/by-name")), "name beats command");
    assert_eq!(c.bin_overrides.get("my-worker"), Some(&PathBuf::from("/mw")));
    assert_eq!(c.bin_overrides.get("api"), None, "empty counts as unset");
}

// ---- checked-in files ----
