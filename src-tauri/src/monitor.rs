//! The one listener behind the tray and the failure notifications: it subscribes to the
//! supervisor's notifications (no polling), shows each new health of the stack on the tray
//! (`health.rs`, `tray.rs`) and feeds rows and feed events to the incident rules
//! (`incidents.rs`), whose alerts become native notifications (`notify.rs`).
//!
//! It runs on Tauri's async runtime and never blocks it: the tray is changed on the main
//! thread, notifications are sent in the background. When it falls behind the broadcast it
//! starts again from the current status (an incident that opened and closed meanwhile is not
//! reported). What it last showed is kept in app state ([`health`], [`alerts`]) so tests with
//! the mock runtime, which has no tray, can see it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sidecar_supervisor_core::{Notification, Supervisor};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_sidecar_supervisor::SidecarSupervisorExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::health::Health;
use crate::incidents::{Alert, Incidents};

/// Alerts kept for [`alerts`].
const KEPT_ALERTS: usize = 100;

#[derive(Default)]
struct Seen {
    health: Option<Health>,
    alerts: Vec<Alert>,
}

#[derive(Default)]
struct Monitor(Mutex<Seen>);

/// The health the tray shows now (`None` before the first status was read).
pub fn health<R: Runtime>(app: &AppHandle<R>) -> Option<Health> {
    app.try_state::<Monitor>().and_then(|m| lock(&m).health.clone())
}

/// The alerts of this launch, oldest first (the last 100), whether or not notifications could
/// be shown.
pub fn alerts<R: Runtime>(app: &AppHandle<R>) -> Vec<Alert> {
    app.try_state::<Monitor>().map(|m| lock(&m).alerts.clone()).unwrap_or_default()
}

fn lock(m: &Monitor) -> std::sync::MutexGuard<'_, Seen> {
    m.0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts listening; `notify`: send native notifications (when the system can).
pub fn start<R: Runtime>(app: &AppHandle<R>, notify: bool) {
    app.manage(Monitor::default());
    let notify = notify && crate::notify::init(app);
    let sup = match app.sidecar_supervisor().supervisor() {
        Ok(sup) => sup.clone(),
        Err(_) => {
            // The window shows why; the tray says it did not start.
            refresh(app, Health::not_running("the runtime did not start"));
            return;
        }
    };
    let rx = sup.subscribe();
    tauri::async_runtime::spawn(listen(app.clone(), sup, rx, notify));
}

async fn listen<R: Runtime>(app: AppHandle<R>, sup: Supervisor, mut rx: Receiver<Notification>, notify: bool) {
    let mut incidents = Incidents::default();
    let t0 = Instant::now();
    // Subscribed first, then read: nothing falls between the two.
    resync(&app, &sup, &mut incidents, t0.elapsed(), notify);
    loop {
        let got = rx.recv().await;
        let now = t0.elapsed();
        match got {
            Ok(Notification::Sidecar(row)) => {
                if let Some(alert) = incidents.on_row(&row, now) {
                    raise(&app, alert, notify);
                }
            }
            Ok(Notification::Health(health)) => refresh(&app, health),
            Ok(Notification::Event(event)) => {
                if let Some(alert) = incidents.on_event(&event, now) {
                    raise(&app, alert, notify);
                }
            }
            Err(RecvError::Lagged(_)) => resync(&app, &sup, &mut incidents, now, notify),
            Ok(Notification::Stopped) | Err(RecvError::Closed) => {
                // The app is exiting, or the engine stopped with an error (then every sidecar
                // went down with it, and its rows were not sent one by one).
                let status = sup.status();
                if let Some(alert) = status.error.as_deref().and_then(|e| incidents.on_engine_error(e)) {
                    raise(&app, alert, notify);
                }
                refresh(&app, status.health);
                return;
            }
            // Sidecar messages and anything else the engine pushes change no health.
            Ok(_) => {}
        }
    }
}

/// Takes every row as it is now.
fn resync<R: Runtime>(app: &AppHandle<R>, sup: &Supervisor, incidents: &mut Incidents, now: Duration, notify: bool) {
    let status = sup.status();
    for row in &status.sidecars {
        if let Some(alert) = incidents.on_row(row, now) {
            raise(app, alert, notify);
        }
    }
    refresh(app, status.health);
}

fn raise<R: Runtime>(app: &AppHandle<R>, alert: Alert, notify: bool) {
    eprintln!("desktop-runtime: incident {}: {}: {}", alert.id, alert.title, alert.body);
    if notify {
        crate::notify::show(app, &alert);
    }
    if let Some(m) = app.try_state::<Monitor>() {
        let mut seen = lock(&m);
        if seen.alerts.len() == KEPT_ALERTS {
            seen.alerts.remove(0);
        }
        seen.alerts.push(alert);
    }
}

/// Shows `health` on the tray when it differs from what is shown.
fn refresh<R: Runtime>(app: &AppHandle<R>, health: Health) {
    let Some(m) = app.try_state::<Monitor>() else { return };
    {
        let mut seen = lock(&m);
        if seen.health.as_ref() == Some(&health) {
            return;
        }
        seen.health = Some(health.clone());
    }
    crate::tray::show(app, &health);
}
