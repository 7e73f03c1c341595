//! The ways in and out beside the engine's own loop, each named for what it is:
//! - [`control_socket`]: another shell controls a running runtime (`desktop-runtime ctl`); the
//!   transport's OS part is `platform::control_endpoint`.
//! - [`jsonrpc`]: the two-way JSON-RPC channel over a `"stdio": "jsonrpc"` sidecar's stdin and
//!   stdout.
//! - [`sidecar_grpc`]: a gRPC channel to a sidecar for app code, keyed and following the
//!   sidecar to its new port.
//! - [`control_client`]: the runtime's own calls to `sidecar.v1.Control` (`Info` for identity,
//!   `Shutdown` for a graceful stop without signals).

pub mod control_client;
pub mod control_socket;
pub mod jsonrpc;
pub mod sidecar_grpc;
