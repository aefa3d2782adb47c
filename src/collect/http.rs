//! The REST snapshot GET a link plan may ask for (docs/VENUES.md §3.1), through reqwest
//! (HTTP/1.1, rustls with the ring provider and the webpki roots — the TLS stack the
//! WebSocket connections already use). One timeout over the whole exchange and a cap on the
//! body size; a non-2xx status is an error carrying the status, `Retry-After` and an excerpt
//! of the body, so the caller can back off on rate limits (429/418). Must not retry.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Largest response accepted (a 5000-level snapshot is ~300 KB).
pub const MAX_BODY: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: no complete answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: response larger than {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("{url}: HTTP {status}{}: {excerpt}", retry_after.map(|s| format!(" (Retry-After {s}s)")).unwrap_or_default())]
    Status { url: String, status: u16, retry_after: Option<u64>, excerpt: String },
}

impl HttpError {
    /// How long the server asked us to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after: Some(s), .. } => Some(Duration::from_secs(*s)),
            _ => None,
        }
    }
}

/// One client per process: its connection pool is reused across snapshots.
fn client(user_agent: &str) -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS setup: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            reqwest::Client::builder()
                .user_agent(user_agent)
                .use_preconfigured_tls(tls)
                .build()
                .map_err(|e| format!("HTTP client setup: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// GETs `url` and returns its body as text.
pub async fn get(url: &str, user_agent: &str, timeout: Duration) -> Result<String, HttpError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| HttpError::Url { url: url.to_owned(), reason: e.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        let reason = "use http:// or https://".to_owned();
        return Err(HttpError::Url { url: url.to_owned(), reason });
    }
    let client = client(user_agent)
        .map_err(|reason| HttpError::Transport { url: url.to_owned(), reason })?;
    match tokio::time::timeout(timeout, exchange(client, parsed, url)).await {
        Ok(result) => result,
        Err(_) => Err(HttpError::Timeout { url: url.to_owned(), timeout }),
    }
}

async fn exchange(
    client: &reqwest::Client,
    target: reqwest::Url,
    url: &str,
) -> Result<String, HttpError> {
    let transport = |e: reqwest::Error| HttpError::Transport {
        url: url.to_owned(),
        // reqwest's Display hides the cause (e.g. "connection refused"): name the chain.
        reason: std::iter::successors(Some(&e as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": "),
    };
    let mut response = client.get(target).send().await.map_err(transport)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(HttpError::TooLarge { url: url.to_owned() });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(HttpError::TooLarge { url: url.to_owned() });
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if !status.is_success() {
        let excerpt: String = text.chars().take(200).collect();
        return Err(HttpError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            retry_after,
            excerpt,
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    async fn serve_once(answer: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(answer).await.unwrap();
        });
        format!("http://127.0.0.1:{port}/api/v3/depth?symbol=X")
    }

    #[tokio::test]
    async fn a_rate_limit_is_an_error_with_status_retry_after_and_body() {
        let url = serve_once(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 23\r\n\r\n{\"code\":-1003,\"msg\":\"\"}",
        )
        .await;
        let err = get(&url, "t", Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        let text = err.to_string();
        assert!(text.contains("HTTP 429 (Retry-After 7s): {\"code\":-1003"), "{text}");
        let url = serve_once(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1}").await;
        assert_eq!(get(&url, "t", Duration::from_secs(5)).await.unwrap(), "{\"a\":1}");
        let url =
            serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")
                .await;
        assert_eq!(get(&url, "t", Duration::from_secs(5)).await.unwrap(), "hello");
    }

    #[tokio::test]
    async fn bad_urls_oversized_bodies_and_refused_connections_are_named() {
        assert!(matches!(
            get("ftp://x/y", "t", Duration::from_secs(1)).await,
            Err(HttpError::Url { .. })
        ));
        let url = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n").await;
        assert!(matches!(
            get(&url, "t", Duration::from_secs(5)).await,
            Err(HttpError::TooLarge { .. })
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/d", listener.local_addr().unwrap());
        drop(listener);
        let err = get(&url, "t", Duration::from_secs(5)).await.unwrap_err().to_string();
        assert!(err.contains("127.0.0.1") && err.to_lowercase().contains("refused"), "{err}");
    }
}
