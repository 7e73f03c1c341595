// Generated from the Rust types by `cargo xtask bindings` (the plugin's test `bindings` checks
// it is current): do not edit by hand.

export type SidecarState = "pending" | "waiting_for_deps" | "starting" | "ready" | "unhealthy" | "backoff" | "stopping" | "stopped" | "failed" | "paused" | "skipped";

export type Verb = "restart" | "stop" | "start" | "pause" | "resume";

export type HealthLevel = "ready" | "starting" | "degraded" | "failed";

export type StateFacts = { 
/**
 * Up for its dependents.
 */
up: boolean, 
/**
 * A process may be alive.
 */
has_process: boolean, 
/**
 * Its weight in the stack's health; `null`: it does not count.
 */
level: HealthLevel | null, 
/**
 * The commands that fit it.
 */
verbs: Array<Verb>, };

export type StackHealth = { level: HealthLevel, 
/**
 * One line, e.g. `all 5 sidecars ready`, `degraded: backend unhealthy`, `failed: worker#1`.
 */
summary: string, 
/**
 * The sidecars in `failed`, in status order (each gets a "Restart `name`" tray item).
 * Empty when the engine is not running (nothing could restart them).
 */
failed: Array<string>, };

export type FailureCause = "fixed_port_taken" | "program_not_found" | "prepare_failed" | "launch_failed" | "exited" | "startup_timeout" | "liveness_failed" | "foreign_server" | "identity_too_low" | "data_dir_in_use" | "data_newer_than_server" | "data_older_than_server" | "data_unreadable";

export type SidecarIdentity = "foreign" | "unverified" | "echoed" | "proven";

export type SidecarBuild = { 
/**
 * Its own version (`"version"` of `/runtime/info`).
 */
version: string, 
/**
 * The build hash it was made from (`"build"`); empty when it states none.
 */
build: string, 
/**
 * Whether that is the app's build: `null` when either side states none.
 */
matches: boolean | null, };

export type RuntimeMode = "local_fullstack" | "remote_slim";

export type Budget = { max: number, window_secs: number, remaining: number, };

export type LastProbe = { ok: boolean, latency_ms: number, at: string, detail: string, };

export type ResourceUsage = { 
/**
 * CPU time over wall time since the previous reading, summed over the tree: 100 = one core.
 */
cpu_percent: number, 
/**
 * Resident memory of every process in the tree.
 */
rss_bytes: number, 
/**
 * Processes alive in the tree.
 */
processes: number, };

export type SidecarResources = { name: string, pid: number, resources: ResourceUsage, };

export type WarningKind = "feed_fallback" | "no_identity_proof" | "fixed_port_taken" | "log_not_writable" | "build_mismatch";

export type RuntimeWarning = { kind: WarningKind, sidecar?: string, message: string, };

export type SidecarStatus = { 
/**
 * Instance name: the sidecar name, or `name#n` for replicas.
 */
name: string, role: string | null, state: SidecarState, pid: number | null, port: number | null, url: string | null, restarts_in_window: number, budget: Budget, auto_restart: boolean, last_exit: string | null, last_error: string | null, 
/**
 * What `last_error` is about, as a type readers decide on (a fixed port taken, a foreign
 * server on its port, …).
 */
cause: FailureCause | null, 
/**
 * Milliseconds since the current process was spawned.
 */
uptime_ms: number | null, last_probe: LastProbe | null, 
/**
 * Whose server answers on its port, as the current process's last identity check found
 * (`proven`, `echoed`, `unverified`, `foreign`); `null` until checked, or when its probes
 * do not check.
 */
identity: SidecarIdentity | null, 
/**
 * The build the current process's identity answer states (version, build hash) and whether
 * it is the app's; `null` when it states none.
 */
build: SidecarBuild | null, depends_on: Array<string>, 
/**
 * CPU and memory of its process tree, while someone watches (the dialog is open, or
 * `status` asked): `null` otherwise.
 */
resources: ResourceUsage | null, };

export type RuntimeStatus = { mode: RuntimeMode, instance_id: string, profile_path: string, data_dir: string, feed_path: string, backend_url: string | null, 
/**
 * `false` when restarts are off globally (`--no-auto-restart` and its twins).
 */
auto_restart: boolean, 
/**
 * Pid of the process running the engine.
 */
pid: number, started_at: string, 
/**
 * `true` once every sidecar has stopped (the runner wrote its last status).
 */
stopped: boolean, 
/**
 * Set when the engine itself failed (it then stopped, and its sidecars with it).
 */
error: string | null, 
/**
 * What a person should know beyond each row's state (the feed's fallback, identity,
 * causes, log files).
 */
warnings: Array<RuntimeWarning>, 
/**
 * The stack's health: what the tray, the window's header and the dialog show.
 */
health: StackHealth, sidecars: Array<SidecarStatus>, };

export type EventKind = "runtime_started" | "runtime_stopped" | "starting" | "waiting" | "skipped" | "spawned" | "ready" | "unhealthy" | "recovered" | "liveness_failed" | "startup_timeout" | "exited" | "restarting" | "budget_exhausted" | "failed" | "port_conflict" | "stopping" | "stopped" | "kill_escalated" | "orphan_killed" | "feed_recovered" | "command" | "prepared" | "stale_pid_file_removed" | "build_mismatch" | "paused" | "resumed" | "pause_failed" | "resume_failed";

export type RuntimeEvent = { seq: number, 
/**
 * RFC 3339, UTC, millisecond precision: `2026-11-22T10:00:00.123Z`.
 */
at: string, sidecar?: string, kind: EventKind, message: string, pid?: number, port?: number, code?: number, 
/**
 * Signal name, e.g. `SIGKILL`.
 */
signal?: string, 
/**
 * The state the sidecar is in once this happened, on every event that changed it: readers
 * (the dialog's timeline) follow states from here, never from the message.
 */
state?: SidecarState, };

export type Diagnostics = { feed_path: string, events: Array<RuntimeEvent>, };

export type BackupManifest = { 
/**
 * [`FORMAT`] when written.
 */
format: number, 
/**
 * The app (its data dir's name) and version that made it.
 */
app: string, app_version: string, 
/**
 * When, RFC 3339 (UTC).
 */
created_at: string, 
/**
 * The database sidecar and the database it holds.
 */
sidecar: string, database: string, 
/**
 * The major of the server it was dumped from.
 */
postgres_major: number, 
/**
 * `database.dump`'s size and SHA-256 (lowercase hex).
 */
dump_bytes: number, dump_sha256: string, };

export type BackupDone = { path: string, 
/**
 * The whole file's size.
 */
bytes: number, manifest: BackupManifest, took_ms: number, };

export type RestoreDone = { manifest: BackupManifest, restarted: Array<string>, took_ms: number, };

export type BackupFile = { name: string, bytes: number, 
/**
 * When it was last written, RFC 3339 (UTC).
 */
modified: string, };

export type BackupsInfo = { dir: string, files: Array<BackupFile>, 
/**
 * Their sizes summed.
 */
bytes: number, };

export type Stream = "stdout" | "stderr";

export type SidecarMessage = { 
/**
 * The instance that sent it (`worker#2` for replicas).
 */
sidecar: string, 
/**
 * Increases by one per message of this runtime (all sidecars).
 */
seq: number, 
/**
 * When the runtime read it (RFC 3339, UTC).
 */
at: string, method: string, params: unknown, };

export type SidecarInfo = { name: string, instance_name: string, version: string, pid: number, instance_id: string, };

export type LogLine = { 
/**
 * RFC 3339 UTC with milliseconds.
 */
at: string, stream: Stream, line: string, };

export type LiveLine = { sidecar: string, at: string, stream: Stream, line: string, };

export type LiveBatch = { lines: Array<LiveLine>, missed: number, };

export type ErrorKind = "unknown_sidecar" | "not_in_this_mode" | "wrong_state" | "shutting_down" | "engine_gone" | "invalid_argument" | "not_running" | "io" | "ipc" | "not_jsonrpc" | "timeout" | "process_ended" | "too_large" | "remote" | "refused" | "no_database" | "invalid_backup" | "backup_failed";

export type SupervisorError = { kind: ErrorKind, 
/**
 * A sentence for people.
 */
message: string, 
/**
 * The sidecar the error is about, if any.
 */
sidecar?: string, 
/**
 * `remote`: the JSON-RPC error's code and data.
 */
code?: number, data?: unknown, };

/** What each state means (the core's rules of `SidecarState`): up for its dependents, a
 * process alive, its weight in the stack's health, the commands that fit it. */
export const STATE_FACTS: Record<SidecarState, StateFacts> = {
  pending: {"up":false,"has_process":false,"level":"starting","verbs":["restart","start"]},
  waiting_for_deps: {"up":false,"has_process":false,"level":"starting","verbs":["restart","start"]},
  starting: {"up":false,"has_process":true,"level":"starting","verbs":["restart","stop","pause"]},
  ready: {"up":true,"has_process":true,"level":"ready","verbs":["restart","stop","pause"]},
  unhealthy: {"up":true,"has_process":true,"level":"degraded","verbs":["restart","stop","pause"]},
  backoff: {"up":false,"has_process":false,"level":"degraded","verbs":["restart","start"]},
  stopping: {"up":false,"has_process":true,"level":"degraded","verbs":["restart"]},
  stopped: {"up":false,"has_process":false,"level":"degraded","verbs":["restart","start"]},
  failed: {"up":false,"has_process":false,"level":"failed","verbs":["restart","start"]},
  paused: {"up":true,"has_process":true,"level":"degraded","verbs":["restart","stop","resume"]},
  skipped: {"up":false,"has_process":false,"level":null,"verbs":[]},
}
