//! The environment contract between the runtime and a sidecar (README, "Contract with
//! sidecars"), read once at start.
//!
//! A sidecar started by hand (no `SIDECAR_*` variables) still runs, on loopback with an announced
//! port; without `SIDECAR_API_KEY` every protected request is refused, so a sidecar started
//! outside the runtime is never open to anyone.

use std::path::PathBuf;

/// What the runtime told this sidecar.
#[derive(Clone)]
pub struct Contract {
    /// `SIDECAR_NAME`: the profile's name, e.g. `worker`.
    pub name: String,
    /// `SIDECAR_INSTANCE_NAME`: the replica's name, e.g. `worker#2` (defaults to `name`).
    pub instance_name: String,
    /// `SIDECAR_HOST`: a loopback address (`127.0.0.1` when absent); any address only in server
    /// mode (`SIDECAR_PUBLIC_HOSTS` set).
    pub host: std::net::IpAddr,
    /// `SIDECAR_PUBLIC_HOSTS`: server mode, for the backend of `remote_slim` run on a server or in
    /// a cluster (never set by the runtime): the Host names accepted besides loopback ones
    /// (comma-separated, no ports), e.g. `jobs.example.com,backend.jobs.svc`.
    pub public_hosts: Vec<String>,
    /// `SIDECAR_PORT`: set for `auto` and fixed ports; absent for `announce` (bind port 0).
    pub port: Option<u16>,
    /// `SIDECAR_INSTANCE_ID`: the launch that started this sidecar; echoed in `/runtime/info`.
    pub instance_id: String,
    /// `SIDECAR_API_KEY`: required on every request but health. Never log it.
    pub api_key: Option<String>,
    /// `SIDECAR_DATA_DIR`: this sidecar's own directory.
    pub data_dir: Option<PathBuf>,
    /// `SIDECAR_RUNTIME_MODE`: `local_fullstack` or `remote_slim`.
    pub runtime_mode: String,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("name", &self.name)
            .field("instance_name", &self.instance_name)
            .field("host", &self.host)
            .field("public_hosts", &self.public_hosts)
            .field("port", &self.port)
            .field("instance_id", &self.instance_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("data_dir", &self.data_dir)
            .field("runtime_mode", &self.runtime_mode)
            .finish()
    }
}

/// A contract variable with a value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    pub variable: &'static str,
    pub message: String,
}

impl std::fmt::Display for ContractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ContractError {}

impl Contract {
    /// Reads the contract from the process environment. `default_name` is used when
    /// `SIDECAR_NAME` is absent (a sidecar started by hand).
    pub fn from_env(default_name: &str) -> Result<Contract, ContractError> {
        Self::from_lookup(default_name, |k| std::env::var(k).ok())
    }

    /// Same as [`Contract::from_env`] with the variables from `get` (for tests).
    pub fn from_lookup(default_name: &str, get: impl Fn(&str) -> Option<String>) -> Result<Contract, ContractError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.is_empty());
        let name = non_empty("SIDECAR_NAME").unwrap_or_else(|| default_name.to_string());
        let public_hosts: Vec<String> = non_empty("SIDECAR_PUBLIC_HOSTS")
            .map(|v| v.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
            .unwrap_or_default();
        if let Some(bad) = public_hosts.iter().find(|h| h.contains([':', '/', ' ', '*'])) {
            return Err(ContractError {
                variable: "SIDECAR_PUBLIC_HOSTS",
                message: format!("`{bad}` is not a host name (no port, scheme, path or wildcard)"),
            });
        }
        let host = match non_empty("SIDECAR_HOST") {
            None => std::net::Ipv4Addr::LOCALHOST.into(),
            Some(h) => {
                let ip: std::net::IpAddr = h.parse().map_err(|_| ContractError {
                    variable: "SIDECAR_HOST",
                    message: format!("`{h}` is not an IP address"),
                })?;
                if !ip.is_loopback() && public_hosts.is_empty() {
                    return Err(ContractError {
                        variable: "SIDECAR_HOST",
                        message: format!(
                            "`{h}` is not a loopback address; sidecars never listen beyond this machine (a server deployment sets SIDECAR_PUBLIC_HOSTS to the names it is reached by)"
                        ),
                    });
                }
                ip
            }
        };
        let port = match non_empty("SIDECAR_PORT") {
            None => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| ContractError {
                variable: "SIDECAR_PORT",
                message: format!("`{p}` is not a port number (1-65535)"),
            })?),
        };
        Ok(Contract {
            instance_name: non_empty("SIDECAR_INSTANCE_NAME").unwrap_or_else(|| name.clone()),
            name,
            host,
            public_hosts,
            port,
            instance_id: non_empty("SIDECAR_INSTANCE_ID").unwrap_or_default(),
            api_key: non_empty("SIDECAR_API_KEY"),
            data_dir: non_empty("SIDECAR_DATA_DIR").map(PathBuf::from),
            runtime_mode: non_empty("SIDECAR_RUNTIME_MODE").unwrap_or_else(|| "local_fullstack".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Contract, ContractError> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Contract::from_lookup("backend", |k| m.get(k).cloned())
    }

    #[test]
    fn reads_every_variable() {
        let c = from(&[
            ("SIDECAR_NAME", "worker"),
            ("SIDECAR_INSTANCE_NAME", "worker#2"),
            ("SIDECAR_HOST", "127.0.0.1"),
            ("SIDECAR_PORT", "4100"),
            ("SIDECAR_INSTANCE_ID", "abc"),
            ("SIDECAR_API_KEY", "k"),
            ("SIDECAR_DATA_DIR", "/tmp/x"),
            ("SIDECAR_RUNTIME_MODE", "remote_slim"),
        ])
        .unwrap();
        assert_eq!((c.name.as_str(), c.instance_name.as_str(), c.port), ("worker", "worker#2", Some(4100)));
        assert_eq!((c.instance_id.as_str(), c.api_key.as_deref()), ("abc", Some("k")));
        assert_eq!(c.runtime_mode, "remote_slim");
        assert!(!format!("{c:?}").contains("\"k\""), "Debug must not print the key");
    }

    #[test]
    fn defaults_when_started_by_hand() {
        let c = from(&[]).unwrap();
        assert_eq!((c.name.as_str(), c.instance_name.as_str(), c.port, c.api_key), ("backend", "backend", None, None));
        assert!(c.host.is_loopback());
    }

    #[test]
    fn server_mode_listens_beyond_loopback_for_the_names_it_is_given() {
        let c = from(&[("SIDECAR_HOST", "0.0.0.0"), ("SIDECAR_PUBLIC_HOSTS", "Jobs.Example.com, backend.jobs.svc")])
            .unwrap();
        assert!(c.host.is_unspecified());
        assert_eq!(c.public_hosts, ["jobs.example.com", "backend.jobs.svc"]);
        let e = from(&[("SIDECAR_PUBLIC_HOSTS", "jobs.example.com:443")]).unwrap_err();
        assert_eq!(e.variable, "SIDECAR_PUBLIC_HOSTS");
        assert!(e.message.contains("not a host name"), "{e}");
    }

    #[test]
    fn refuses_bad_values_naming_the_variable() {
        let e = from(&[("SIDECAR_HOST", "0.0.0.0")]).unwrap_err();
        assert_eq!(e.variable, "SIDECAR_HOST");
        assert!(e.message.contains("loopback"));
        let e = from(&[("SIDECAR_PORT", "70000")]).unwrap_err();
        assert_eq!(e.variable, "SIDECAR_PORT");
        assert!(from(&[("SIDECAR_PORT", "0")]).is_err());
    }
}
