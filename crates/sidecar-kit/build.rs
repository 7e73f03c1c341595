//! Generates the sidecar control API from `proto/sidecar/v1/control.proto`. `protox` parses the
//! .proto in pure Rust, so a fresh machine needs no `protoc`.

fn main() {
    // Read when the script runs, not when it was compiled: a target dir shared by two
    // checkouts may reuse this script's binary for the other one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = std::path::Path::new(&manifest_dir).join("../../proto");
    let file = root.join("sidecar/v1/control.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&root]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    tonic_prost_build::configure().compile_fds(fds).unwrap_or_else(|e| panic!("generating the control API: {e}"));
}
