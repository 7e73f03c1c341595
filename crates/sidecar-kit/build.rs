//! Generates the sidecar control API from `proto/sidecar/v1/control.proto`. `protox` parses the
//! .proto in pure Rust, so a fresh machine needs no `protoc`.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let file = root.join("sidecar/v1/control.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&root]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    tonic_prost_build::configure().compile_fds(fds).unwrap_or_else(|e| panic!("generating the control API: {e}"));
}
