// The plugin's commands, in one list that `build.rs` (their permissions) and `lib.rs` (their
// handler, and one command per verb in `commands.rs`) are both made from. `verbs` are the core's
// `Verb::ALL`, one command each so that an app can grant each on its own (a test checks the two
// lists agree); `commands` and `live` are the other commands, by the module they live in.
//
// `with_commands!(m)` calls the macro `m` with the three lists.
macro_rules! with_commands {
    ($then:ident) => {
        $then! {
            verbs: [restart, stop, start, pause, resume],
            commands: [
                desktop_runtime_status,
                desktop_runtime_diagnostics,
                logs,
                export_events,
                sidecar_request,
                sidecar_messages,
                sidecar_info,
                diagnostics_bundle,
                backup,
                restore,
                backups
            ],
            live: [watch, log_history, export_log],
        }
    };
}
