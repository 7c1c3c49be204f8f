//! The HTTP port with TLS on: HTTPS and plain HTTP on one port.
//!
//! The first byte of a connection tells them apart: a TLS record starts
//! with 0x16 (handshake), an HTTP request with a method letter. One port
//! keeps every URL, QR code and firewall rule the hub already has.
//!
//! Plain HTTP is served as before from loopback (the desktop app and local
//! tools talk to 127.0.0.1 and have no use for TLS); from the LAN it gets
//! a 308 redirect to the same URL over HTTPS (308 keeps the method and
//! body of a POST). The CA and its install page are the exception: a phone
//! must be able to fetch them before it trusts the hub's certificate.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header, uri::Authority};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::REQUEST_IS_TLS;

/// The first byte of a TLS record carrying a handshake (the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;
/// A client that sends nothing, or never finishes its handshake, is dropped.
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// Paths served over plain HTTP from the LAN too: the CA, the page on how
/// to install it, and that page's stylesheet.
const PLAIN_PATHS: &[&str] = &["/ca", "/ca.crt", "/css/app.css"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainAction {
    Serve,
    Redirect,
}

/// What a plain-HTTP request from `peer` for `path` gets.
pub fn plain_action(peer: IpAddr, path: &str) -> PlainAction {
    if peer.to_canonical().is_loopback() || PLAIN_PATHS.contains(&path) {
        PlainAction::Serve
    } else {
        PlainAction::Redirect
    }
}

/// `https://` + the host the client asked for + the same path and query.
/// The Host header is checked as an authority (no header injection); with
/// no usable one, the address the client connected to stands in. TLS is
/// on the same port, so a Host without a port gets the local one.
pub fn https_location(host: Option<&str>, local: SocketAddr, path_and_query: &str) -> String {
    let authority = host
        .and_then(|h| h.parse::<Authority>().ok())
        .filter(|a| a.as_str().find('@').is_none());
    let host_port = match authority {
        Some(a) if a.port().is_some() => a.as_str().to_owned(),
        Some(a) => format!("{}:{}", a.host(), local.port()),
        None => local.to_string(),
    };
    let path = if path_and_query.starts_with('/') {
        path_and_query
    } else {
        "/"
    };
    format!("https://{host_port}{path}")
}

fn redirect(req: &Request<Incoming>, local: SocketAddr) -> Response<Body> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = https_location(host, local, path);
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Accepts connections until `stop`, then lets the requests in flight
/// finish (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    acceptor: TlsAcceptor,
    stop: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead
                    // of spinning; a peer that went away: just go on.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        tracing::warn!(error = %e, "http: accept failed");
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                    continue;
                }
            },
        };
        let conn = Conn {
            router: router.clone(),
            acceptor: acceptor.clone(),
            peer,
            watcher: graceful.watcher(),
        };
        tokio::spawn(conn.run(stream, stop.clone()));
    }
    drop(listener);
    graceful.shutdown().await;
}

struct Conn {
    router: Router,
    acceptor: TlsAcceptor,
    peer: SocketAddr,
    watcher: Watcher,
}

impl Conn {
    /// Until a connection is being served, shutdown just drops it; once
    /// served, the graceful watcher lets its request in flight finish.
    async fn run(self, stream: TcpStream, stop: CancellationToken) {
        let _ = stream.set_nodelay(true);
        let Ok(local) = stream.local_addr() else {
            return;
        };
        let mut first = [0u8; 1];
        let peeked = tokio::select! {
            _ = stop.cancelled() => return,
            p = tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.peek(&mut first)) => p,
        };
        if !matches!(peeked, Ok(Ok(1))) {
            return;
        }
        if first[0] == TLS_HANDSHAKE {
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                a = tokio::time::timeout(FIRST_BYTES_TIMEOUT, self.acceptor.accept(stream)) => a,
            };
            match accepted {
                Ok(Ok(tls)) => self.serve_io(TokioIo::new(tls), local, true).await,
                // Mostly a browser that does not trust the CA yet: it
                // closes the handshake with an alert.
                Ok(Err(e)) => {
                    tracing::debug!(peer = %self.peer, error = %e, "tls: handshake failed")
                }
                Err(_) => tracing::debug!(peer = %self.peer, "tls: handshake timed out"),
            }
        } else {
            self.serve_io(TokioIo::new(stream), local, false).await;
        }
    }

    async fn serve_io<I>(self, io: TokioIo<I>, local: SocketAddr, is_tls: bool)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            router,
            peer,
            watcher,
            ..
        } = self;
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let router = router.clone();
            let redirect_to = (!is_tls
                && plain_action(peer.ip(), req.uri().path()) == PlainAction::Redirect)
                .then(|| redirect(&req, local));
            // What axum::serve's `into_make_service_with_connect_info` adds.
            req.extensions_mut().insert(ConnectInfo(peer));
            // HTTP/2 (browsers over TLS) carries the host in `:authority`,
            // not in Host; the same-origin check and the hub's URLs read Host.
            if !req.headers().contains_key(header::HOST)
                && let Some(host) = req
                    .uri()
                    .authority()
                    .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                req.headers_mut().insert(header::HOST, host);
            }
            async move {
                if let Some(res) = redirect_to {
                    return Ok::<_, Infallible>(res);
                }
                REQUEST_IS_TLS
                    .scope(is_tls, router.oneshot(req.map(Body::new)))
                    .await
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // Drops clients that never finish sending their headers.
        builder.http1().timer(TokioTimer::new());
        let conn = builder.serve_connection_with_upgrades(io, service);
        if let Err(e) = watcher.watch(conn.into_owned()).await {
            tracing::debug!(peer = %peer, error = %e, "http: connection ended with an error");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_served_and_the_lan_redirected() {
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert_eq!(
            plain_action("127.0.0.1".parse().unwrap(), "/"),
            PlainAction::Serve
        );
        assert_eq!(
            plain_action("::1".parse().unwrap(), "/login"),
            PlainAction::Serve
        );
        // A dual-stack listener sees IPv4 loopback as ::ffff:127.0.0.1.
        assert_eq!(
            plain_action("::ffff:127.0.0.1".parse().unwrap(), "/"),
            PlainAction::Serve
        );
        assert_eq!(plain_action(lan, "/"), PlainAction::Redirect);
        assert_eq!(plain_action(lan, "/api/hub_info"), PlainAction::Redirect);
        assert_eq!(plain_action(lan, "/ca"), PlainAction::Serve);
        assert_eq!(plain_action(lan, "/ca.crt"), PlainAction::Serve);
        assert_eq!(plain_action(lan, "/ca.crt/x"), PlainAction::Redirect);
    }

    #[test]
    fn redirect_keeps_host_path_and_query() {
        let local: SocketAddr = "192.168.1.5:8080".parse().unwrap();
        assert_eq!(
            https_location(Some("192.168.1.5:8080"), local, "/live?x=1"),
            "https://192.168.1.5:8080/live?x=1"
        );
        assert_eq!(
            https_location(Some("nursery.local"), local, "/"),
            "https://nursery.local:8080/"
        );
        assert_eq!(
            https_location(Some("[fe80::1]:8080"), local, "/a"),
            "https://[fe80::1]:8080/a"
        );
        assert_eq!(
            https_location(Some("[fe80::1]"), local, "/a"),
            "https://[fe80::1]:8080/a"
        );
        // Nothing usable in Host: the address the client connected to.
        assert_eq!(
            https_location(Some("evil\r\nx: y"), local, "/"),
            "https://192.168.1.5:8080/"
        );
        assert_eq!(
            https_location(Some("user@evil.example"), local, "/"),
            "https://192.168.1.5:8080/"
        );
        assert_eq!(
            https_location(None, local, "*"),
            "https://192.168.1.5:8080/"
        );
    }
}
