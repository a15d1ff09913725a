//! Where providers may live (`exchange_provider_networks`): a member administrator sets a
//! service's base URL, so without a limit the gateway would call whatever that names (the
//! platform's own `/metrics` on loopback, the database port, a cloud metadata address on
//! link-local) on a client's behalf. The operator lists the networks providers may be on; the
//! list is checked when a base URL is set and again for every address at connect time, after
//! DNS, so a host name cannot lead the gateway somewhere the list forbids (ADR 0018).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use ipnet::IpNet;

/// Everything but the special ranges below: public and private addresses.
pub const DEFAULT: [&str; 2] = ["0.0.0.0/0", "::/0"];
/// What the demo and the tests add: providers on this machine.
pub const LOOPBACK: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// Ranges a broad entry such as `0.0.0.0/0` never opens: an address in one of them is allowed
/// only by a listed network inside it (`127.0.0.0/8`, `169.254.10.0/24`). RFC 6890 names them.
const SPECIAL: [(&str, &str); 10] = [
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("fe80::/10", "link-local"),
    ("0.0.0.0/8", "\"this network\""),
    ("::/128", "unspecified"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
];

/// How long setting a base URL waits for its host name to resolve.
const RESOLVE_AT_SET_TIME: Duration = Duration::from_secs(3);

/// The networks providers may be on.
#[derive(Debug, Clone)]
pub struct ProviderNetworks {
    allowed: Vec<IpNet>,
    special: Vec<(IpNet, &'static str)>,
}

impl ProviderNetworks {
    /// Parses the setting; an entry that is not `ADDRESS/PREFIX` is named in the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let allowed = entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry.parse::<IpNet>().map(|net| net.trunc()).map_err(|_| {
                    format!("exchange_provider_networks: {entry:?} is not a network such as 10.20.0.0/16 or fd00::/8")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let special = SPECIAL
            .iter()
            .filter_map(|(net, what)| net.parse::<IpNet>().ok().map(|net| (net, *what)))
            .collect();
        Ok(Self { allowed, special })
    }

    /// Whether a provider may be at `address`; the refusal names the address and the network.
    pub fn check(&self, address: IpAddr) -> Result<(), String> {
        // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is checked as what it is.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            IpAddr::V4(_) => address,
        };
        let special = self.special.iter().find(|(net, _)| net.contains(&address));
        let allowed = self.allowed.iter().any(|net| {
            net.contains(&address)
                && special.is_none_or(|(special_net, _)| special_net.contains(net))
        });
        match (allowed, special) {
            (true, _) => Ok(()),
            (false, Some((net, what))) => Err(format!(
                "{address} is in {net} ({what}), which exchange_provider_networks does not list"
            )),
            (false, None) => Err(format!(
                "{address} is outside exchange_provider_networks ({})",
                self.listed()
            )),
        }
    }

    fn listed(&self) -> String {
        let listed: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
        listed.join(", ")
    }

    /// The check when a base URL is set: an address in the URL, or every address its host name
    /// resolves to now. A name that does not resolve yet is accepted; the connect-time check
    /// still applies to whatever it resolves to later.
    pub async fn check_base_url(&self, base_url: &str) -> Result<(), String> {
        let uri = Uri::try_from(base_url).map_err(|e| format!("{base_url:?} is not a URL: {e}"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{base_url:?} names no host"))?;
        if authority.as_str().contains('@') {
            return Err("may not hold a user name or password".into());
        }
        let host = authority.host();
        if let Some(address) = ip_literal(host) {
            return self.check(address);
        }
        let port = uri.port_u16().unwrap_or(443);
        let resolved =
            tokio::time::timeout(RESOLVE_AT_SET_TIME, tokio::net::lookup_host((host, port))).await;
        if let Ok(Ok(addresses)) = resolved {
            for address in addresses {
                self.check(address.ip())
                    .map_err(|reason| format!("{host} resolves to {reason}"))?;
            }
        }
        Ok(())
    }
}

fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Resolves a provider's host name and keeps only the addresses the list allows; the
/// connector then connects to those and nothing else.
#[derive(Clone)]
pub(crate) struct CheckedResolver {
    networks: Arc<ProviderNetworks>,
}

type Resolving =
    Pin<Box<dyn Future<Output = Result<std::vec::IntoIter<SocketAddr>, std::io::Error>> + Send>>;

impl tower_service::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Resolving;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let networks = self.networks.clone();
        Box::pin(async move {
            let host = name.as_str();
            let mut allowed = Vec::new();
            let mut refused = None;
            for address in tokio::net::lookup_host((host, 0)).await? {
                match networks.check(address.ip()) {
                    Ok(()) => allowed.push(address),
                    Err(reason) => refused = Some(reason),
                }
            }
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| "no address".into());
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} resolves to {reason}"),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// The provider connector: host names go through [`CheckedResolver`], and an address written
/// in the URL itself (which hyper does not resolve) is checked here.
#[derive(Clone)]
pub(crate) struct GuardedConnector {
    inner: HttpConnector<CheckedResolver>,
    networks: Arc<ProviderNetworks>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Connection = <HttpConnector<CheckedResolver> as tower_service::Service<Uri>>::Response;
type Connecting = Pin<Box<dyn Future<Output = Result<Connection, BoxError>> + Send>>;

impl GuardedConnector {
    pub(crate) fn new(networks: ProviderNetworks) -> Self {
        let networks = Arc::new(networks);
        let inner = HttpConnector::new_with_resolver(CheckedResolver {
            networks: networks.clone(),
        });
        Self { inner, networks }
    }

    pub(crate) fn http(&mut self) -> &mut HttpConnector<CheckedResolver> {
        &mut self.inner
    }
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = Connection;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.inner, cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if let Some(address) = uri.host().and_then(ip_literal)
            && let Err(reason) = self.networks.check(address)
        {
            return Box::pin(async move { Err(reason.into()) });
        }
        let connecting = tower_service::Service::<Uri>::call(&mut self.inner, uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn networks(entries: &[&str]) -> ProviderNetworks {
        ProviderNetworks::parse(entries).unwrap()
    }

    #[test]
    fn broad_entries_never_open_loopback_or_link_local() {
        let default = networks(&DEFAULT);
        for allowed in ["10.1.2.3", "192.168.1.5", "203.0.113.9", "2001:db8::1"] {
            assert_eq!(default.check(allowed.parse().unwrap()), Ok(()), "{allowed}");
        }
        for refused in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
        ] {
            let reason = default.check(refused.parse().unwrap()).unwrap_err();
            assert!(
                reason.contains("which exchange_provider_networks does not list"),
                "{reason}"
            );
        }
        let reason = default
            .check("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert!(reason.contains("169.254.0.0/16 (link-local)"), "{reason}");
    }

    #[test]
    fn a_narrow_entry_opens_only_its_own_range() {
        let demo = networks(&["10.0.0.0/8", "127.0.0.0/8"]);
        assert_eq!(demo.check("127.0.0.1".parse().unwrap()), Ok(()));
        assert!(demo.check("::1".parse().unwrap()).is_err());
        let reason = demo.check("192.168.1.1".parse().unwrap()).unwrap_err();
        assert!(reason.contains("outside exchange_provider_networks (10.0.0.0/8, 127.0.0.0/8)"));
        let bad = ProviderNetworks::parse(&["10.0.0.0/33"]).unwrap_err();
        assert!(bad.contains("\"10.0.0.0/33\""), "{bad}");
    }

    #[tokio::test]
    async fn base_urls_are_checked_by_address_and_by_name() {
        let default = networks(&DEFAULT);
        for refused in [
            "http://127.0.0.1:9090",
            "http://[::1]:8080",
            "http://localhost:5432",
            "http://127.1:8080",
            "http://user:secret@10.0.0.1",
        ] {
            assert!(default.check_base_url(refused).await.is_err(), "{refused}");
        }
        assert_eq!(
            default.check_base_url("https://10.20.30.40/api").await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn the_connector_refuses_a_name_that_resolves_to_a_forbidden_address() {
        use tower_service::Service;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut connector = GuardedConnector::new(networks(&DEFAULT));
        for url in [
            format!("http://localhost:{port}/"),
            format!("http://127.0.0.1:{port}/"),
        ] {
            let uri: Uri = url.parse().unwrap();
            std::future::poll_fn(|cx| connector.poll_ready(cx))
                .await
                .unwrap();
            let error = connector
                .call(uri)
                .await
                .err()
                .map(|e| crate::forward::causes(&*e));
            assert!(
                error.as_deref().is_some_and(|e| e.contains("(loopback)")),
                "{url}: {error:?}"
            );
        }
        let mut local = GuardedConnector::new(networks(&LOOPBACK));
        let uri: Uri = format!("http://localhost:{port}/").parse().unwrap();
        std::future::poll_fn(|cx| local.poll_ready(cx))
            .await
            .unwrap();
        assert!(local.call(uri).await.is_ok(), "allowed when listed");
    }
}
