//! A minimal HTTP/1.1 GET client for REST snapshots (Binance depth, VENUES.md §3.1): plain
//! `http://` over a TCP stream or `https://` through rustls with the webpki roots, one
//! request per connection (`Connection: close`), bodies by `Content-Length`, chunked
//! transfer coding or end of stream, a size cap and one timeout over the whole exchange.
//!
//! It exists so the crate needs no HTTP client dependency for one GET. Owns nothing but the
//! exchange; a non-2xx status is an error carrying the status, `Retry-After` and an excerpt
//! of the body, so the caller can back off on 429/418 (rate limits). Must not retry.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use tokio_rustls::TlsConnector;

/// Largest response accepted (a 5000-level spot snapshot is ~300 KB).
pub const MAX_BODY: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL {url:?}: {reason}")]
    Url { url: String, reason: &'static str },
    #[error("{url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("{url}: no complete answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: malformed HTTP response: {reason}")]
    Protocol { url: String, reason: String },
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

/// The parts of a URL a GET needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    /// Path and query.
    path: String,
}

fn parse_url(url: &str) -> Result<Target, HttpError> {
    let bad = |reason| HttpError::Url { url: url.to_owned(), reason };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad("only http:// and https:// are supported"));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| bad("the port is not a number"))?),
        None => (authority, if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Target { tls, host: host.to_owned(), port, path })
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = match rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
            {
                Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
                // ring supports the default versions; this arm cannot be reached.
                Err(_) => rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            };
            Arc::new(config)
        })
        .clone()
}

/// GETs `url` and returns the body of a 2xx answer (as text), within `timeout`.
pub async fn get(url: &str, user_agent: &str, timeout: Duration) -> Result<String, HttpError> {
    match tokio::time::timeout(timeout, exchange(url, user_agent)).await {
        Ok(result) => result,
        Err(_) => Err(HttpError::Timeout { url: url.to_owned(), timeout }),
    }
}

async fn exchange(url: &str, user_agent: &str) -> Result<String, HttpError> {
    let target = parse_url(url)?;
    let io = |source| HttpError::Io { url: url.to_owned(), source };
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await.map_err(io)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {user_agent}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        target.path, target.host
    );
    if target.tls {
        let name = ServerName::try_from(target.host.clone())
            .map_err(|_| HttpError::Url { url: url.to_owned(), reason: "bad host name" })?;
        let stream = TlsConnector::from(tls_config()).connect(name, tcp).await.map_err(io)?;
        round_trip(url, stream, &request).await
    } else {
        round_trip(url, tcp, &request).await
    }
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    mut stream: S,
    request: &str,
) -> Result<String, HttpError> {
    let io = |source| HttpError::Io { url: url.to_owned(), source };
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // Servers that close without TLS close_notify: the framing below still decides.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_BODY + 64 * 1024 {
            return Err(HttpError::TooLarge { url: url.to_owned() });
        }
        if let Ok(Some(body)) = decode(&raw) {
            return finish(url, body);
        }
    }
    match decode(&raw) {
        Ok(Some(done)) => finish(url, done),
        Ok(None) => match split_head(&raw) {
            // No framing: the body runs to the end of the stream.
            Some((head, body)) if head.length.is_none() && !head.chunked => {
                finish(url, (head, body.to_vec()))
            }
            _ => Err(HttpError::Protocol {
                url: url.to_owned(),
                reason: "the connection closed before the whole answer arrived".into(),
            }),
        },
        Err(reason) => Err(HttpError::Protocol { url: url.to_owned(), reason }),
    }
}

fn finish(url: &str, (head, body): (Head, Vec<u8>)) -> Result<String, HttpError> {
    if body.len() > MAX_BODY {
        return Err(HttpError::TooLarge { url: url.to_owned() });
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    if !(200..300).contains(&head.status) {
        let excerpt: String = text.chars().take(200).collect();
        return Err(HttpError::Status {
            url: url.to_owned(),
            status: head.status,
            retry_after: head.retry_after,
            excerpt,
        });
    }
    Ok(text)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    retry_after: Option<u64>,
}

/// The response head and the bytes after it, once the head is complete.
fn split_head(raw: &[u8]) -> Option<(Head, &[u8])> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut head = Head { status, length: None, chunked: false, retry_after: None };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.length = value.parse().ok(),
            "transfer-encoding" => head.chunked = value.to_ascii_lowercase().contains("chunked"),
            "retry-after" => head.retry_after = value.parse().ok(),
            _ => {}
        }
    }
    Some((head, &raw[end + 4..]))
}

/// The whole answer if `raw` holds it (`Ok(None)`: read more).
fn decode(raw: &[u8]) -> Result<Option<(Head, Vec<u8>)>, String> {
    let Some((head, rest)) = split_head(raw) else {
        if raw.len() > 64 * 1024 {
            return Err("no end of the response head in 64 KiB".into());
        }
        return Ok(None);
    };
    if head.chunked {
        return Ok(dechunk(rest)?.map(|body| (head, body)));
    }
    match head.length {
        Some(n) if rest.len() >= n => Ok(Some((head, rest[..n].to_vec()))),
        Some(n) if n > MAX_BODY => {
            Err(format!("Content-Length {n} is above the {MAX_BODY}-byte cap"))
        }
        _ => Ok(None),
    }
}

/// A chunked body, once its last (zero-size) chunk arrived.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        if size == 0 {
            return Ok(Some(body));
        }
        if body.len() + size > MAX_BODY {
            return Err(format!("chunked body above the {MAX_BODY}-byte cap"));
        }
        let start = eol + 2;
        if rest.len() < start + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let t = parse_url("https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port), (true, "fapi.binance.com", 443));
        assert_eq!(t.path, "/fapi/v1/depth?symbol=BTCUSDT");
        let t = parse_url("http://127.0.0.1:8080?x=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (8080, "/?x=1"));
        assert!(parse_url("ftp://x").is_err());
    }

    #[test]
    fn bodies_are_framed_by_length_chunks_or_close() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(decode(raw).unwrap().unwrap().1, b"hello");
        assert_eq!(decode(&raw[..raw.len() - 1]).unwrap(), None);
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert_eq!(decode(raw).unwrap().unwrap().1, b"hello");
        assert_eq!(decode(&raw[..raw.len() - 7]).unwrap(), None);
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(decode(bad).is_err());
    }

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
    }
}
