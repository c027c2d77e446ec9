//! Fake-server tests of the connection's protocol steps: a tokio listener in the test plays
//! MySQL (greeting, TLS, authentication, rows) and the connection of `wire` talks to it. Each
//! test checks what the client sent as well as what it answered: the password never on the
//! wire in clear, nothing sent after a refusal, bounded waits.

use std::{path::PathBuf, sync::Arc, time::Duration};

use bytes::BytesMut;
use mysql_async::consts::{CapabilityFlags, StatusFlags};
use mysql_common::{
    packets::{AuthSwitchRequest, HandshakePacket},
    proto::{MySerialize, codec::PacketCodec},
    scramble::scramble_native,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use super::{
    MySql, tls,
    wire::{Settings, Wire},
};
use crate::{config::SslMode, error::MySqlError};

const PASSWORD: &str = "s3cret-Pa55";
const NONCE_1: [u8; 8] = *b"abcdefgh";
/// The second part of the nonce as servers send it: 12 bytes and a NUL.
const NONCE_2: &[u8] = b"ijklmnopqrst\0";
const OK: &[u8] = &[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00];

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/mysql/testdata")
        .join(name)
}

fn nonce() -> Vec<u8> {
    [&NONCE_1[..], &NONCE_2[..12]].concat()
}

/// The settings of a connection to `port` in `mode`, trusting `ca` if given.
fn settings(port: u16, mode: SslMode, ca: Option<&str>) -> Settings {
    let ca = ca.map(testdata);
    Settings {
        host: "127.0.0.1".into(),
        port,
        user: Some("root".into()),
        pass: Some(PASSWORD.into()),
        db: Some("CS544".into()),
        init: Vec::new(),
        ssl_mode: mode,
        tls: tls::client_config(mode, ca.as_deref()).unwrap_or_else(|e| panic!("{e}")),
        server_public_key: None,
        get_server_public_key: false,
        max_packet: 64 << 20,
        keepalive: Duration::from_secs(10),
        connect_bound: Duration::from_secs(5),
    }
}

/// The server's end of one connection: whole packets each way, with every byte the client
/// sent kept (before TLS: what anyone on the path sees).
struct Peer<S> {
    socket: S,
    codec: PacketCodec,
    input: BytesMut,
    seen: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Peer<S> {
    async fn send(&mut self, payload: &[u8]) {
        let mut out = BytesMut::new();
        self.codec
            .encode(&mut &*payload, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        self.socket
            .write_all(&out)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The client's next packet, or `None` when it closed the connection. Reads exactly
    /// one packet from the socket, so that nothing of a TLS handshake that follows an SSL
    /// request is taken before the TLS acceptor gets the socket.
    async fn recv(&mut self) -> Option<Vec<u8>> {
        let mut packet = Vec::new();
        loop {
            if self.codec.decode(&mut self.input, &mut packet).ok()? {
                return Some(packet);
            }
            let mut header = [0u8; 4];
            self.socket.read_exact(&mut header).await.ok()?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            let mut body = vec![0u8; len];
            self.socket.read_exact(&mut body).await.ok()?;
            for part in [&header[..], &body] {
                self.seen.extend_from_slice(part);
                self.input.extend_from_slice(part);
            }
        }
    }

    /// Everything the client sends until it closes.
    async fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut packets = Vec::new();
        while let Some(packet) = self.recv().await {
            packets.push(packet);
        }
        packets
    }
}

fn greeting(plugin: &str, offers_tls: bool) -> Vec<u8> {
    let mut capabilities = CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF;
    if offers_tls {
        capabilities |= CapabilityFlags::CLIENT_SSL;
    }
    let packet = HandshakePacket::new(
        10,
        &b"8.4.0-fake"[..],
        42,
        NONCE_1,
        Some(NONCE_2),
        capabilities,
        45,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(plugin.as_bytes()),
    );
    let mut payload = Vec::new();
    packet.serialize(&mut payload);
    payload
}

/// A listener and the task playing the server on its first connection.
async fn serve<F, Fut, T>(script: F) -> (u16, JoinHandle<T>)
where
    F: FnOnce(Peer<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        script(Peer {
            socket,
            codec: PacketCodec::default(),
            input: BytesMut::new(),
            seen: Vec::new(),
        })
        .await
    });
    (port, task)
}

/// The server's side of the TLS upgrade: reads the client's SSL request, then the TLS
/// handshake with `server.pem`.
async fn accept_tls(mut peer: Peer<TcpStream>) -> Peer<tokio_rustls::server::TlsStream<TcpStream>> {
    let request = peer
        .recv()
        .await
        .unwrap_or_else(|| panic!("no SSL request"));
    assert_eq!(request.len(), 32, "an SSL request is 32 bytes: {request:?}");
    let caps = u32::from_le_bytes([request[0], request[1], request[2], request[3]]);
    assert!(
        caps & CapabilityFlags::CLIENT_SSL.bits() != 0,
        "SSL request without CLIENT_SSL"
    );
    // the server takes the flags from this request: the database is named in the response
    // that follows only if this one says so
    assert!(
        caps & CapabilityFlags::CLIENT_CONNECT_WITH_DB.bits() != 0,
        "SSL request without CLIENT_CONNECT_WITH_DB"
    );
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(testdata("server.pem"))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|c| c.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let key =
        PrivateKeyDer::from_pem_file(testdata("server.key")).unwrap_or_else(|e| panic!("{e}"));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(tls::crypto_provider()))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap_or_else(|e| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let socket = acceptor.accept(peer.socket).await;
    Peer {
        socket: socket.unwrap_or_else(|e| panic!("TLS accept: {e}")),
        codec: peer.codec,
        input: peer.input,
        seen: peer.seen,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn native_password_logs_in_with_the_scramble_and_never_the_password() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("mysql_native_password", false)).await;
        let response = peer.recv().await.unwrap_or_default();
        peer.send(OK).await;
        peer.drain().await;
        (response, peer.seen)
    })
    .await;
    let wire = Wire::open(&settings(port, SslMode::Preferred, None)).await;
    let wire = wire.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (wire.id(), wire.server_version(), wire.is_tls()),
        (42, "8.4.0-fake", false)
    );
    drop(wire);
    let (response, seen) = server.await.unwrap_or_else(|e| panic!("{e}"));
    let expected = scramble_native(&nonce(), PASSWORD.as_bytes()).unwrap_or_default();
    assert!(
        contains(&response, &expected),
        "the response carries the scramble"
    );
    assert!(contains(&response, b"root\0") && contains(&response, b"CS544"));
    assert!(
        !contains(&seen, PASSWORD.as_bytes()),
        "the password went out in clear"
    );
}

#[tokio::test]
async fn caching_sha2_fast_authentication_needs_no_password_exchange() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.recv().await;
        peer.send(&[0x01, 0x03]).await;
        peer.send(OK).await;
        peer.drain().await
    })
    .await;
    let wire = Wire::open(&settings(port, SslMode::Preferred, None)).await;
    drop(wire.unwrap_or_else(|e| panic!("{e}")));
    assert!(
        server.await.unwrap_or_default().is_empty(),
        "nothing more was sent"
    );
}

#[tokio::test]
async fn caching_sha2_full_authentication_over_tls_sends_the_password_inside_tls() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", true)).await;
        let mut peer = accept_tls(peer).await;
        let seen_before_tls = std::mem::take(&mut peer.seen);
        peer.recv().await; // the handshake response, inside TLS
        peer.send(&[0x01, 0x04]).await;
        let password = peer.recv().await.unwrap_or_default();
        peer.send(OK).await;
        peer.drain().await;
        (password, seen_before_tls)
    })
    .await;
    // verify_ca with the CA that signed the certificate; the host (127.0.0.1) is not the
    // certificate's name, which verify_ca does not check
    let wire = Wire::open(&settings(port, SslMode::VerifyCa, Some("ca.pem"))).await;
    let wire = wire.unwrap_or_else(|e| panic!("{e}"));
    assert!(wire.is_tls());
    drop(wire);
    let (password, seen) = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(password, [PASSWORD.as_bytes(), b"\0"].concat());
    assert!(!contains(&seen, PASSWORD.as_bytes()));
}

/// Full authentication over plaintext: refused without a key, the configured key used
/// without asking the server, or the server asked when that is allowed.
async fn full_auth_over_plaintext(
    key: Option<&str>,
    ask: bool,
) -> (Result<(), MySqlError>, Vec<Vec<u8>>, Vec<u8>) {
    let (port, server) = serve(move |mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.recv().await;
        peer.send(&[0x01, 0x04]).await;
        let mut sent = Vec::new();
        if let Some(packet) = peer.recv().await {
            if packet == [0x02] {
                let pem = std::fs::read(testdata("rsa-public.pem")).unwrap_or_default();
                peer.send(&[&[0x01][..], &pem].concat()).await;
                sent.push(packet);
                sent.extend(peer.recv().await);
            } else {
                sent.push(packet);
            }
            peer.send(OK).await;
        }
        sent.extend(peer.drain().await);
        (sent, peer.seen)
    })
    .await;
    let mut settings = settings(port, SslMode::Preferred, None);
    settings.server_public_key =
        key.map(|name| std::fs::read(testdata(name)).unwrap_or_default().into());
    settings.get_server_public_key = ask;
    let outcome = match Wire::open(&settings).await {
        Ok(wire) => wire.quit().await,
        Err(e) => Err(e),
    };
    let (sent, seen) = server.await.unwrap_or_else(|e| panic!("{e}"));
    (outcome, sent, seen)
}

#[tokio::test]
async fn full_authentication_over_plaintext_without_a_key_is_refused_before_sending_anything() {
    let (wire, sent, seen) = full_auth_over_plaintext(None, false).await;
    let error = wire.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("LENDER_MYSQL_SERVER_PUBLIC_KEY")
            && error.contains("LENDER_MYSQL_GET_SERVER_PUBLIC_KEY"),
        "{error}"
    );
    assert!(sent.is_empty(), "sent after the refusal: {sent:?}");
    assert!(!contains(&seen, PASSWORD.as_bytes()));
}

#[tokio::test]
async fn full_authentication_over_plaintext_uses_the_configured_key_without_asking() {
    let (wire, sent, seen) = full_auth_over_plaintext(Some("rsa-public.pem"), false).await;
    assert!(wire.is_ok(), "{:?}", wire.err());
    // one RSA-2048 block, then COM_QUIT: no request for the server's key
    assert_eq!(sent.first().map(Vec::len), Some(256), "{sent:?}");
    assert!(!sent.iter().any(|p| p == &[0x02]));
    assert!(!contains(&seen, PASSWORD.as_bytes()));
}

#[tokio::test]
async fn full_authentication_over_plaintext_asks_for_the_key_only_when_allowed() {
    let (wire, sent, seen) = full_auth_over_plaintext(None, true).await;
    assert!(wire.is_ok(), "{:?}", wire.err());
    assert_eq!(
        sent.first().map(Vec::as_slice),
        Some(&[0x02][..]),
        "{sent:?}"
    );
    assert_eq!(sent.get(1).map(Vec::len), Some(256));
    assert!(!contains(&seen, PASSWORD.as_bytes()));
}

#[tokio::test]
async fn a_second_full_authentication_request_fails_the_login() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.recv().await;
        peer.send(&[0x01, 0x04]).await;
        let first = peer.recv().await;
        peer.send(&[0x01, 0x04]).await;
        (first, peer.drain().await)
    })
    .await;
    let mut settings = settings(port, SslMode::Preferred, None);
    settings.server_public_key = Some(
        std::fs::read(testdata("rsa-public.pem"))
            .unwrap_or_default()
            .into(),
    );
    let error = Wire::open(&settings)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("a second time"), "{error}");
    let (first, after) = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.map(|p| p.len()), Some(256));
    assert!(after.is_empty(), "the password was sent again: {after:?}");
}

#[tokio::test]
async fn a_switch_to_mysql_clear_password_is_refused_and_the_password_never_leaves() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("mysql_native_password", false)).await;
        peer.recv().await;
        let mut switch = Vec::new();
        AuthSwitchRequest::new(&b"mysql_clear_password"[..], &b""[..]).serialize(&mut switch);
        peer.send(&switch).await;
        let after = peer.drain().await;
        (after, peer.seen)
    })
    .await;
    let error = Wire::open(&settings(port, SslMode::Preferred, None))
        .await
        .err();
    let error = error.map(|e| (e.is_permanent(), e.to_string()));
    let (permanent, text) = error.unwrap_or_default();
    assert!(permanent && text.contains("mysql_clear_password"), "{text}");
    let (after, seen) = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(after.is_empty(), "sent after the switch: {after:?}");
    assert!(!contains(&seen, PASSWORD.as_bytes()));
}

#[tokio::test]
async fn required_tls_against_a_server_without_tls_fails_naming_the_mode() {
    let (port, server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.drain().await
    })
    .await;
    let error = Wire::open(&settings(port, SslMode::Required, None))
        .await
        .err();
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("offers no TLS") && text.contains("required"),
        "{text}"
    );
    assert!(
        server.await.unwrap_or_default().is_empty(),
        "nothing sent, not even the user"
    );
}

/// A TLS server whose certificate `ca` did or did not sign, in `mode`: the connection's
/// outcome.
async fn tls_login(mode: SslMode, ca: &str) -> Result<Wire, MySqlError> {
    let (port, _server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", true)).await;
        // the TLS handshake fails on the client's side when it refuses the certificate
        if let Some(mut peer) = accept_tls_lenient(peer).await {
            peer.recv().await;
            peer.send(&[0x01, 0x03]).await;
            peer.send(OK).await;
            peer.drain().await;
        }
    })
    .await;
    Wire::open(&settings(port, mode, Some(ca))).await
}

/// [`accept_tls`] for a client that may refuse the certificate (then `None`).
async fn accept_tls_lenient(
    peer: Peer<TcpStream>,
) -> Option<Peer<tokio_rustls::server::TlsStream<TcpStream>>> {
    let task = tokio::spawn(accept_tls(peer));
    task.await.ok()
}

#[tokio::test]
async fn verify_ca_refuses_a_certificate_another_ca_signed_naming_it() {
    let error = tls_login(SslMode::VerifyCa, "other-ca.pem").await.err();
    let (permanent, text) = error
        .map(|e| (e.is_permanent(), e.to_string()))
        .unwrap_or_default();
    let pem = std::fs::read(testdata("server.pem")).unwrap_or_default();
    let der = CertificateDer::from_pem_slice(&pem).unwrap_or_else(|e| panic!("{e}"));
    let fingerprint = tls::fingerprint(&der);
    assert!(permanent, "{text}");
    assert!(
        text.contains(&fingerprint)
            && text.contains("not signed by a CA")
            && text.contains("other-ca.pem"),
        "{text}"
    );
}

#[tokio::test]
async fn verify_identity_checks_the_name_and_verify_ca_does_not() {
    let wire = tls_login(SslMode::VerifyCa, "ca.pem").await;
    assert!(wire.map(|w| w.is_tls()).unwrap_or_else(|e| panic!("{e}")));
    let error = tls_login(SslMode::VerifyIdentity, "ca.pem").await.err();
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("does not name the host 127.0.0.1"), "{text}");
}

#[tokio::test]
async fn an_access_denied_is_the_servers_message_and_permanent() {
    let (port, _server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.recv().await;
        peer.send(
            b"\xff\x15\x04#28000Access denied for user 'root'@'10.0.0.1' (using password: YES)",
        )
        .await;
        peer.drain().await;
    })
    .await;
    let error = Wire::open(&settings(port, SslMode::Preferred, None))
        .await
        .err();
    let (permanent, text) = error
        .map(|e| (e.is_permanent(), e.to_string()))
        .unwrap_or_default();
    assert!(permanent, "{text}");
    assert_eq!(
        text,
        "ERROR 1045 (28000): Access denied for user 'root'@'10.0.0.1' (using password: YES)"
    );
}

#[tokio::test]
async fn a_server_that_stops_mid_handshake_costs_the_connect_bound() {
    let (port, _server) = serve(|mut peer| async move {
        let greeting = greeting("caching_sha2_password", false);
        // the packet header and half the greeting, then silence
        let mut out = BytesMut::new();
        peer.codec
            .encode(&mut &greeting[..], &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        peer.socket
            .write_all(&out[..out.len() / 2])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut settings = settings(port, SslMode::Preferred, None);
    settings.connect_bound = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let error = Wire::open(&settings).await.err();
    let elapsed = started.elapsed();
    let (permanent, text) = error
        .map(|e| (e.is_permanent(), e.to_string()))
        .unwrap_or_default();
    assert!(text.contains("no connection within 0.3 s"), "{text}");
    assert!(!permanent, "a silent server may be one still starting");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn a_packet_over_the_limit_fails_with_the_setting_named() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        // a header announcing 2 MiB - 1 (no more than one chunk needed), then a few bytes
        let header = [0xFF, 0xFF, 0x1F, 0x00];
        let _ = socket.write_all(&header).await;
        let _ = socket.write_all(&[0u8; 1024]).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let stream = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut wire = Wire::raw(stream, 1 << 20);
    let mut packet = Vec::new();
    let error = wire
        .next_row(&mut packet)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("larger than 1 MiB") && error.contains("LENDER_MYSQL_MAX_PACKET_MIB"),
        "{error}"
    );
    server.abort();
}

#[tokio::test]
async fn a_socket_closed_mid_row_is_an_error_not_a_short_result() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        // a whole row, then a row announcing 100 bytes of which 40 arrive
        let _ = socket.write_all(&[2, 0, 0, 0, 0x00, 0x00]).await;
        let _ = socket.write_all(&[100, 0, 0, 1]).await;
        let _ = socket.write_all(&[0u8; 40]).await;
    });
    let stream = TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut wire = Wire::raw(stream, 1 << 20);
    let mut packet = Vec::new();
    assert!(
        wire.next_row(&mut packet)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    let error = wire.next_row(&mut packet).await.err();
    let (permanent, text) = error
        .map(|e| (e.is_permanent(), e.to_string()))
        .unwrap_or_default();
    assert!(
        text.contains("MySQL closed the connection") && !permanent,
        "{text}"
    );
    let _ = server.await;
}

/// [`MySql::open_wire`] to `port`, waiting up to `wait` for MySQL to come up: its error's
/// text and how long it took.
async fn open_waiting(port: u16, wait: Duration) -> (String, Duration) {
    let mysql = MySql {
        settings: Arc::new(settings(port, SslMode::Preferred, None)),
        wait,
        stall: Duration::from_secs(30),
    };
    let started = std::time::Instant::now();
    let error = mysql.open_wire().await.err();
    (
        error.map(|e| e.to_string()).unwrap_or_default(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_permanent_refusal_ends_the_start_up_wait_at_once() {
    let (port, _server) = serve(|mut peer| async move {
        peer.send(&greeting("caching_sha2_password", false)).await;
        peer.recv().await;
        peer.send(b"\xff\x19\x04#42000Unknown database 'CS544'")
            .await;
        peer.drain().await;
    })
    .await;
    // a retry would reach the listener's backlog and wait there for the connect bound
    let (error, elapsed) = open_waiting(port, Duration::from_secs(60)).await;
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(
        error.contains("ERROR 1049 (42000): Unknown database 'CS544'")
            && error.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_not_up_yet_is_waited_for_until_the_bound() {
    // a port nothing listens on: refused at once, every time
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port()
    };
    let (error, elapsed) = open_waiting(port, Duration::from_millis(1600)).await;
    assert!(error.contains("not reachable after 1 s"), "{error}");
    // tries at 0, 0.5 and 1.5 s: the wait ran its course, with backoff
    assert!(elapsed >= Duration::from_millis(1400), "{elapsed:?}");
}
