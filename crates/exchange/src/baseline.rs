//! The gateway's HTTP stack with nothing of the gateway: axum's server and the pooled provider
//! client of forward.rs, passing each request straight on. `bench/exchange.sh` measures it
//! beside nginx and the gateway, so the figures separate what the stack costs from what the
//! checks and the durable audit cost. It is a measuring instrument, never mounted by `serve`.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::forward::{ProviderClient, provider_client};
use crate::networks::{self, ProviderNetworks};

/// The gateway's own connect-time check, so the baseline costs what the gateway's stack
/// costs; the measured upstream runs on this machine.
fn measuring_client() -> Result<ProviderClient, String> {
    provider_client(ProviderNetworks::parse(
        &[networks::DEFAULT, networks::LOOPBACK].concat(),
    )?)
}

#[derive(Clone)]
struct Upstream {
    client: ProviderClient,
    base: String,
}

/// A reverse proxy to `base` (scheme and authority, no path), as plain as nginx's
/// `proxy_pass`: same method, path, query, headers and body.
pub fn reverse_proxy(base: &str) -> Result<Router, String> {
    let uri = Uri::try_from(base)
        .map_err(|error| format!("the upstream {base:?} is not a URL: {error}"))?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(format!(
            "the upstream {base:?} needs a scheme and a host, e.g. http://127.0.0.1:8080"
        ));
    }
    let upstream = Upstream {
        client: measuring_client()?,
        base: base.trim_end_matches('/').to_owned(),
    };
    Ok(Router::new().fallback(pass_on).with_state(upstream))
}

async fn pass_on(State(upstream): State<Upstream>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match Uri::try_from(format!("{}{path}", upstream.base)) {
        Ok(uri) => uri,
        Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    match upstream
        .client
        .request(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Bytes;
    use axum::http::Method;
    use http_body_util::BodyExt;
    use tokio::net::TcpListener;

    use super::*;

    async fn listen(router: Router) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn passes_method_path_query_and_body_on_and_the_answer_back() {
        let echo = Router::new().fallback(|request: Request| async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            let line = format!(
                "{} {} {}",
                parts.method,
                parts.uri,
                String::from_utf8_lossy(&body)
            );
            (StatusCode::CREATED, line)
        });
        let upstream = listen(echo).await;
        let proxy = listen(reverse_proxy(&upstream).unwrap()).await;

        let client = super::measuring_client().unwrap();
        let request = Request::builder()
            .method(Method::PUT)
            .uri(format!("{proxy}/cards/79?full=1"))
            .body(Body::from("hello"))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, Bytes::from("PUT /cards/79?full=1 hello"));
    }

    #[tokio::test]
    async fn an_unusable_upstream_is_refused_with_its_name() {
        let Err(error) = reverse_proxy("not a url") else {
            panic!("a bad upstream was accepted");
        };
        assert!(error.contains("\"not a url\""), "{error}");
        let Err(error) = reverse_proxy("127.0.0.1:18181") else {
            panic!("an upstream without a scheme was accepted");
        };
        assert!(error.contains("needs a scheme"), "{error}");
    }

    #[tokio::test]
    async fn an_upstream_that_does_not_answer_gives_502() {
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let proxy = listen(reverse_proxy(&format!("http://{address}")).unwrap()).await;
        let request = Request::get(format!("{proxy}/x"))
            .body(Body::empty())
            .unwrap();
        let response = super::measuring_client()
            .unwrap()
            .request(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    }
}
