//! The runtime's side of `sidecar.v1.Control` (proto/sidecar/v1/control.proto): asking a gRPC
//! sidecar who it is (`Info`, the identity check of gRPC probes), and asking a sidecar to stop
//! over gRPC, the graceful stop on Windows for sidecars with a port (those built on sidecar-kit
//! serve it). The messages are small enough to declare here rather than generate.

use std::time::Duration;

use tonic::codegen::http::uri::PathAndQuery;

#[derive(Clone, PartialEq, prost::Message)]
struct ShutdownRequest {
    #[prost(string, tag = "1")]
    reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ShutdownResponse {}

/// Calls `Control/Shutdown` on 127.0.0.1:`port` with the launch's key (when the sidecar has
/// it); `Ok` once the sidecar said the stop began.
pub async fn shutdown(port: u16, api_key: Option<String>, timeout: Duration) -> Result<(), String> {
    let call = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .map_err(|e| format!("endpoint: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("cannot connect to port {port}: {e}"))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| format!("not ready: {e}"))?;
        let mut req = tonic::Request::new(ShutdownRequest { reason: "the runtime stops it".into() });
        if let Some(key) = api_key {
            let value = key.parse().map_err(|_| "the API key is not a valid header value".to_string())?;
            req.metadata_mut().insert("x-api-key", value);
        }
        let codec = tonic_prost::ProstCodec::<ShutdownRequest, ShutdownResponse>::default();
        grpc.unary(req, PathAndQuery::from_static("/sidecar.v1.Control/Shutdown"), codec)
            .await
            .map(|_| ())
            .map_err(|s| format!("{}: {}", s.code(), s.message()))
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}

#[derive(Clone, PartialEq, prost::Message)]
struct InfoRequest {
    #[prost(string, tag = "1")]
    nonce: String,
}

/// `sidecar.v1.InfoResponse`: who answers on the port.
#[derive(Clone, PartialEq, serde::Serialize, prost::Message)]
pub struct InfoResponse {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub instance_name: String,
    #[prost(string, tag = "3")]
    pub version: String,
    #[prost(uint32, tag = "4")]
    pub pid: u32,
    #[prost(string, tag = "5")]
    pub instance_id: String,
    #[prost(string, tag = "6")]
    pub proof: String,
    /// The build hash it was made from (empty: it states none).
    #[prost(string, tag = "7")]
    pub build: String,
}

/// Calls `Control/Info` with `nonce` and no key (whatever answers learns nothing). `Ok(None)`:
/// the server does not serve it (or guards it with the key, as sidecars made before the
/// nonce did), so its identity cannot be checked this way.
pub async fn info(channel: tonic::transport::Channel, nonce: &str) -> Result<Option<InfoResponse>, String> {
    match call_info(channel, nonce).await {
        Ok(r) => Ok(Some(r)),
        Err(s) if matches!(s.code(), tonic::Code::Unimplemented | tonic::Code::Unauthenticated) => Ok(None),
        Err(s) => Err(format!("sidecar.v1.Control/Info: {} {}", s.code(), s.message())),
    }
}

/// `Control/Info` over any gRPC service (a plain channel, or a sidecar's keyed channel).
pub async fn call_info<T>(svc: T, nonce: &str) -> Result<InfoResponse, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(svc);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(format!("not ready: {}", e.into())))?;
    let codec = tonic_prost::ProstCodec::<InfoRequest, InfoResponse>::default();
    let req = tonic::Request::new(InfoRequest { nonce: nonce.to_string() });
    grpc.unary(req, PathAndQuery::from_static("/sidecar.v1.Control/Info"), codec).await.map(|r| r.into_inner())
}
