//! The diagnostics bundle of a real run: every part is in the zip, and the launch's API key, a
//! URL password and a token given to a sidecar appear nowhere in it — although the sidecar
//! printed all three and the profile holds two of them.

mod common;

use std::io::Read;

use common::*;
use serde_json::json;
use sidecar_supervisor_core::{write_bundle, BundleInfo};

const TOKEN: &str = "ghp_supersecretvalue123";
const PASSWORD: &str = "hunter2pass";

#[tokio::test(flavor = "multi_thread")]
async fn the_bundle_holds_every_part_and_no_secret() {
    let rig = Rig::start(profile(json!([{
        "name": "api", "command": "test-sidecar", "port": "auto", "ready": { "http": "/health/ready" },
        "args": ["--print-secret", "--echo-env", "GITHUB_TOKEN,DATABASE_URL", "--stdout-lines", "3"],
        "env": { "GITHUB_TOKEN": TOKEN, "DATABASE_URL": format!("postgres://app:{PASSWORD}@127.0.0.1:5432/db") }
    }])));
    rig.wait_state("api", sidecar_supervisor_core::State::Ready).await;
    let key = rig.api_key().to_string();
    let out = rig.tmp.path().join("bundle.zip");
    let (sup, dest) = (rig.sup.clone(), out.clone());
    let info = BundleInfo { app_name: "desktop-runtime".into(), app_version: "9.9.9".into() };
    let written = tokio::task::spawn_blocking(move || write_bundle(&sup, &info, &dest)).await.unwrap().unwrap();
    assert_eq!(written, std::fs::metadata(&out).unwrap().len());

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        files.insert(name, text);
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "diagnostics/data-dir.txt",
            "diagnostics/feed.json",
            "diagnostics/logs/api.log",
            "diagnostics/profile.json",
            "diagnostics/status.json",
            "diagnostics/versions.json"
        ]
    );
    for (name, text) in &files {
        for secret in [key.as_str(), TOKEN, PASSWORD] {
            assert!(!text.contains(secret), "{name} holds a secret:\n{text}");
        }
    }
    let log = &files["diagnostics/logs/api.log"];
    assert!(log.contains("line 3") && log.contains("GITHUB_TOKEN=") && log.contains("key="), "{log}");
    let status: serde_json::Value = serde_json::from_str(&files["diagnostics/status.json"]).unwrap();
    let res = &status["sidecars"][0]["resources"];
    assert!(res["rss_bytes"].as_u64().unwrap() > 0, "the bundle samples resources: {res}");
    let profile: serde_json::Value = serde_json::from_str(&files["diagnostics/profile.json"]).unwrap();
    assert_eq!(profile["sidecars"][0]["env"]["GITHUB_TOKEN"], "[redacted]");
    assert!(files["diagnostics/feed.json"].contains("\"ready\""));
    assert!(files["diagnostics/versions.json"].contains("9.9.9"));
    assert!(
        files["diagnostics/data-dir.txt"].contains("logs/") && files["diagnostics/data-dir.txt"].contains("(total)")
    );
}
