//! A MySQL connection of our own, for the export query and the quick exchanges (ping, KILL):
//! mysql_async decodes every cell of a row into a `Value` (an allocation and a copy per text
//! cell), and exposes no raw row packets, so the export reads them here and decodes them
//! straight into Arrow (`binary`). One connection type also means one place that decides
//! what the connection accepts: TLS as `LENDER_MYSQL_SSL_MODE` says, `mysql_native_password`
//! (MariaDB) and `caching_sha2_password` (Oracle MySQL) only, the password never sent where
//! someone in the middle could read it, and packets no larger than the configured bound.
//! Built from mysql_common's protocol pieces (the ones mysql_async uses).

use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::BytesMut;
use mysql_async::{Column, consts::CapabilityFlags};
use mysql_common::{
    constants::Command,
    crypto,
    io::ParseBuf,
    packets::{
        AuthPlugin, AuthSwitchRequest, ComStmtExecuteRequestBuilder, ErrPacket, HandshakePacket,
        HandshakeResponse, OkPacketDeserializer, ResultSetTerminator, SslRequest, StmtPacket,
    },
    proto::{
        MySerialize,
        codec::{PacketCodec, error::PacketCodecError},
    },
};
use rustls::ClientConfig;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::TcpStream,
};
use tokio_rustls::{TlsConnector, client::TlsStream};

use super::tls;
use crate::{config::SslMode, error::MySqlError};

type Result<T, E = MySqlError> = std::result::Result<T, E>;

/// Bytes asked of the socket per read: a few hundred rows of the export, so the reads cost
/// little next to decoding.
const READ_CHUNK: usize = 256 * 1024;

/// How much of an unexpected packet an error quotes: enough to recognise it.
const QUOTED: usize = 64;

/// Packets the login may take after our handshake response (a plugin switch, caching_sha2's
/// fast or full authentication, its key): a server that keeps it going longer is broken.
const AUTH_ROUNDS: usize = 6;

/// utf8mb4_general_ci, as mysql_async announces.
const UTF8MB4: u8 = 45;

/// What we ask of the server: protocol 4.1 with plugin authentication, and OK packets
/// instead of EOF ones where the server can (MariaDB and MySQL both can).
const CLIENT_CAPABILITIES: CapabilityFlags = CapabilityFlags::CLIENT_PROTOCOL_41
    .union(CapabilityFlags::CLIENT_SECURE_CONNECTION)
    .union(CapabilityFlags::CLIENT_LONG_PASSWORD)
    .union(CapabilityFlags::CLIENT_LONG_FLAG)
    .union(CapabilityFlags::CLIENT_TRANSACTIONS)
    .union(CapabilityFlags::CLIENT_MULTI_RESULTS)
    .union(CapabilityFlags::CLIENT_PS_MULTI_RESULTS)
    .union(CapabilityFlags::CLIENT_PLUGIN_AUTH)
    .union(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
    .union(CapabilityFlags::CLIENT_DEPRECATE_EOF);

/// Everything a connection needs, built once from the configuration.
#[derive(Clone)]
pub(super) struct Settings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub db: Option<String>,
    /// Statements run once logged in (the session's lock-wait bound).
    pub init: Vec<String>,
    pub ssl_mode: SslMode,
    /// `None` exactly when `ssl_mode` is `disabled`.
    pub tls: Option<Arc<ClientConfig>>,
    /// The server's RSA public key (PEM), for caching_sha2's full authentication over
    /// plaintext.
    pub server_public_key: Option<Arc<[u8]>>,
    /// Whether that key may be asked of the server over plaintext.
    pub get_server_public_key: bool,
    pub max_packet: usize,
    pub keepalive: Duration,
    /// Bound of the whole connect: TCP, TLS, login and init statements.
    pub connect_bound: Duration,
}

impl Settings {
    /// `host:port`, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The socket, encrypted or not.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One authenticated connection; reads and writes whole packets.
pub(super) struct Wire {
    stream: Stream,
    codec: PacketCodec,
    input: BytesMut,
    output: BytesMut,
    capabilities: CapabilityFlags,
    max_packet: usize,
    id: u32,
    server_version: String,
}

impl Wire {
    /// Connects to the server as `settings` say, then runs their `init` statements; the
    /// whole of it bounded by `connect_bound`, so a server that stops mid-handshake costs
    /// that much and no more.
    pub(super) async fn open(settings: &Settings) -> Result<Self> {
        match tokio::time::timeout(settings.connect_bound, Self::connect(settings)).await {
            Ok(wire) => wire,
            Err(_) => Err(MySqlError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no connection within {} s (TCP, TLS and login)",
                    settings.connect_bound.as_secs_f32()
                ),
            ))),
        }
    }

    async fn connect(settings: &Settings) -> Result<Self> {
        let stream = TcpStream::connect((settings.host.as_str(), settings.port)).await?;
        stream.set_nodelay(true)?;
        let probes = socket2::TcpKeepalive::new().with_time(settings.keepalive);
        socket2::SockRef::from(&stream).set_tcp_keepalive(&probes)?;
        let mut wire = Wire::over(Stream::Plain(stream), settings.max_packet);
        wire.input.reserve(READ_CHUNK);
        wire = wire.login(settings).await?;
        for statement in &settings.init {
            wire.query_drop(statement).await?;
        }
        Ok(wire)
    }

    fn over(stream: Stream, max_packet: usize) -> Self {
        let mut codec = PacketCodec::default();
        codec.max_allowed_packet = max_packet;
        Wire {
            stream,
            codec,
            input: BytesMut::new(),
            output: BytesMut::new(),
            capabilities: CLIENT_CAPABILITIES,
            max_packet,
            id: 0,
            server_version: String::new(),
        }
    }

    /// A connection past its handshake, for tests that play the server.
    #[cfg(test)]
    pub(super) fn raw(stream: TcpStream, max_packet: usize) -> Self {
        Wire::over(Stream::Plain(stream), max_packet)
    }

    /// The server's id of this connection (for KILL).
    pub(super) fn id(&self) -> u32 {
        self.id
    }

    /// The version the server announced in its handshake.
    pub(super) fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Whether the connection is encrypted.
    pub(super) fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The server's greeting, TLS if the settings and the server agree on it, our answer,
    /// then the authentication exchange.
    async fn login(mut self, settings: &Settings) -> Result<Self> {
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        if packet.first() == Some(&0xFF) {
            return Err(self.refusal(&packet)); // e.g. too many connections
        }
        let handshake: HandshakePacket = parse(&packet, "greeting")?;
        self.id = handshake.connection_id();
        self.server_version = String::from_utf8_lossy(handshake.server_version_ref()).into_owned();
        let offers_tls = handshake
            .capabilities()
            .contains(CapabilityFlags::CLIENT_SSL);
        let tls = tls_to_use(settings, offers_tls)?;
        let mut capabilities = CLIENT_CAPABILITIES & handshake.capabilities();
        if tls.is_some() {
            capabilities |= CapabilityFlags::CLIENT_SSL;
        }
        let plugin = handshake
            .auth_plugin()
            .unwrap_or(AuthPlugin::MysqlNativePassword)
            .into_owned();
        let nonce = handshake.nonce();
        let pass = settings.pass.as_deref();
        let data = scramble(&plugin, pass, &nonce)?;
        let response = HandshakeResponse::new(
            data.as_deref(),
            handshake.server_version_parsed().unwrap_or((0, 0, 0)),
            settings.user.as_deref().map(str::as_bytes),
            settings.db.as_deref().map(str::as_bytes),
            Some(plugin.clone()),
            capabilities,
            None,
            self.max_packet as u32,
        );
        // The SSL request carries the response's own flags (with CONNECT_WITH_DB when a
        // database is named): the server takes them from it.
        self.capabilities = response.capabilities();
        if let Some(config) = tls {
            let request = SslRequest::new(self.capabilities, self.max_packet as u32, UTF8MB4);
            self.write_packet(&serialized(&request)).await?;
            self = self.encrypt(config, &settings.host).await?;
        }
        self.write_packet(&serialized(&response)).await?;
        self.authenticate(plugin, nonce, settings).await?;
        Ok(self)
    }

    /// The TLS handshake over our TCP connection; the packet sequence goes on inside it.
    async fn encrypt(self, config: Arc<ClientConfig>, host: &str) -> Result<Self> {
        let Stream::Plain(tcp) = self.stream else {
            return Err(MySqlError::Protocol("TLS asked for twice".into()));
        };
        // Bytes that arrived in plaintext must not pass for data from inside TLS.
        if !self.input.is_empty() {
            return Err(MySqlError::Protocol(format!(
                "MySQL sent {} bytes after its greeting, before TLS started",
                self.input.len()
            )));
        }
        let tls = TlsConnector::from(config)
            .connect(tls::server_name(host), tcp)
            .await
            .map_err(tls_error)?;
        Ok(Wire {
            stream: Stream::Tls(Box::new(tls)),
            ..self
        })
    }

    /// Answers the server until it accepts (OK) or refuses (ERR): one switch of plugin
    /// at most, and caching_sha2's fast (cached) or full authentication, once.
    async fn authenticate(
        &mut self,
        mut plugin: AuthPlugin<'static>,
        mut nonce: Vec<u8>,
        settings: &Settings,
    ) -> Result<()> {
        let pass = settings.pass.as_deref();
        let mut packet = Vec::new();
        let (mut switched, mut full_auth) = (false, false);
        for _ in 0..AUTH_ROUNDS {
            self.read_packet(&mut packet).await?;
            match (packet.first(), &plugin) {
                (Some(0x00), _) => return Ok(()),
                (Some(0xFE), _) if !switched => {
                    switched = true;
                    let request: AuthSwitchRequest = parse(&packet, "authentication switch")?;
                    plugin = request.auth_plugin().into_owned();
                    nonce = request.plugin_data().to_vec();
                    let data = scramble(&plugin, pass, &nonce)?.unwrap_or_default();
                    self.write_packet(&data).await?;
                }
                // caching_sha2: 3 = the server's cache knew us (an OK follows), 4 = it did
                // not (the first connection after a restart or FLUSH PRIVILEGES)
                (Some(0x01), AuthPlugin::CachingSha2Password) => match packet.get(1) {
                    Some(0x03) if packet.len() == 2 => {}
                    Some(0x04) if packet.len() == 2 && !full_auth => {
                        full_auth = true;
                        self.full_sha2_auth(settings, &nonce).await?;
                    }
                    Some(0x04) => {
                        return Err(MySqlError::Refused(
                            "MySQL asked for caching_sha2_password's full authentication a second time: the login is refused rather than sending the password again".into(),
                        ));
                    }
                    _ => return Err(self.refusal(&packet)),
                },
                _ => return Err(self.refusal(&packet)),
            }
        }
        Err(MySqlError::Protocol(format!(
            "MySQL did not end the login within {AUTH_ROUNDS} exchanges"
        )))
    }

    /// caching_sha2_password's full authentication: the password itself must reach the
    /// server. Over TLS it goes as it is (the channel is encrypted); over plaintext only
    /// RSA-encrypted with a key we can trust: the one configured, or the server's own when
    /// asking for it is explicitly allowed (anyone in the middle could send theirs).
    async fn full_sha2_auth(&mut self, settings: &Settings, nonce: &[u8]) -> Result<()> {
        let mut secret = settings
            .pass
            .as_deref()
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        secret.push(0);
        if self.is_tls() {
            return self.write_packet(&secret).await;
        }
        let fetched;
        let key: &[u8] = match (&settings.server_public_key, settings.get_server_public_key) {
            (Some(key), _) => key,
            (None, true) => {
                self.write_packet(&[0x02]).await?;
                let mut packet = Vec::new();
                self.read_packet(&mut packet).await?;
                let (Some(0x01), Some(pem)) = (packet.first(), packet.get(1..)) else {
                    return Err(self.refusal(&packet));
                };
                fetched = pem.to_vec();
                &fetched
            }
            (None, false) => return Err(MySqlError::Refused(PLAINTEXT_FULL_AUTH.into())),
        };
        if nonce.is_empty() {
            return Err(MySqlError::Protocol(
                "MySQL sent an empty nonce for caching_sha2_password".into(),
            ));
        }
        for (i, byte) in secret.iter_mut().enumerate() {
            *byte ^= nonce[i % nonce.len()];
        }
        let encrypted = rsa_encrypt(&secret, key).ok_or_else(|| {
            MySqlError::Protocol(
                "the server's RSA public key for caching_sha2_password is not a usable PEM key"
                    .into(),
            )
        })?;
        self.write_packet(&encrypted).await
    }

    /// Runs a statement that returns no rows.
    pub(super) async fn query_drop(&mut self, sql: &str) -> Result<()> {
        self.command(Command::COM_QUERY, sql.as_bytes()).await?;
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        match packet.first() {
            Some(0x00) => Ok(()),
            _ => Err(self.refusal(&packet)),
        }
    }

    /// Prepares `sql`; its parameter and column definitions are skipped (the execution
    /// sends the columns again).
    pub(super) async fn prepare(&mut self, sql: &str) -> Result<u32> {
        self.command(Command::COM_STMT_PREPARE, sql.as_bytes())
            .await?;
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        if packet.first() != Some(&0x00) {
            return Err(self.refusal(&packet));
        }
        let statement: StmtPacket = parse(&packet, "prepared statement")?;
        for count in [statement.num_params(), statement.num_columns()] {
            let eof = usize::from(count > 0 && !self.deprecate_eof());
            for _ in 0..usize::from(count) + eof {
                self.read_packet(&mut packet).await?;
            }
        }
        Ok(statement.statement_id())
    }

    /// Executes a prepared statement without parameters and reads its column
    /// definitions; its rows follow through [`Wire::next_row`].
    pub(super) async fn execute(&mut self, statement: u32) -> Result<Vec<Column>> {
        let (request, _) = ComStmtExecuteRequestBuilder::new(statement).build(&[]);
        self.codec.reset_seq_id();
        self.write_packet(&serialized(&request)).await?;
        self.columns().await
    }

    /// Runs `sql` by the text protocol (COM_QUERY) and reads its column definitions; its
    /// rows follow through [`Wire::next_text_row`]. Only measured against the binary
    /// protocol (tests): the export uses the binary one.
    #[cfg(test)]
    pub(super) async fn query(&mut self, sql: &str) -> Result<Vec<Column>> {
        self.command(Command::COM_QUERY, sql.as_bytes()).await?;
        self.columns().await
    }

    /// The text protocol's row: any first byte but 0xFF (ERR) and the end of the rows.
    #[cfg(test)]
    pub(super) async fn next_text_row(&mut self, packet: &mut Vec<u8>) -> Result<bool> {
        self.read_packet(packet).await?;
        match packet.first() {
            Some(0xFE) if self.is_end(packet) => Ok(false),
            Some(0xFF) => Err(self.refusal(packet)),
            _ => Ok(true),
        }
    }

    /// A result set's header: the column count, the column definitions, then (without
    /// the deprecate-EOF capability) an EOF packet.
    async fn columns(&mut self) -> Result<Vec<Column>> {
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        let count = match packet.first() {
            Some(0x00 | 0xFF) => return Err(self.refusal(&packet)),
            _ => ParseBuf(&packet)
                .checked_eat_lenenc_int()
                .ok_or_else(|| unexpected(&packet))?,
        };
        let mut columns = Vec::with_capacity(count.min(4096) as usize);
        for _ in 0..count {
            self.read_packet(&mut packet).await?;
            columns.push(parse::<Column>(&packet, "column definition")?);
        }
        if !self.deprecate_eof() {
            self.read_packet(&mut packet).await?;
        }
        Ok(columns)
    }

    /// The next row packet of the result into `packet`: true for a row, false at its end.
    /// An ERR packet mid-result (the query killed, a lock wait bound reached) is the
    /// server's error.
    pub(super) async fn next_row(&mut self, packet: &mut Vec<u8>) -> Result<bool> {
        self.read_packet(packet).await?;
        match packet.first() {
            Some(0x00) => Ok(true),
            Some(0xFE) if self.is_end(packet) => Ok(false),
            _ => Err(self.refusal(packet)),
        }
    }

    /// Whether `packet` ends a result set: an OK packet with the 0xFE header (deprecate
    /// EOF) or a classic EOF packet, as mysql_common reads them.
    fn is_end(&self, packet: &[u8]) -> bool {
        if self.deprecate_eof() {
            ParseBuf(packet)
                .parse::<OkPacketDeserializer<ResultSetTerminator>>(self.capabilities)
                .is_ok()
        } else {
            packet.len() < 9
        }
    }

    /// Says goodbye (COM_QUIT); the server closes the connection.
    pub(super) async fn quit(mut self) -> Result<()> {
        self.command(Command::COM_QUIT, &[]).await
    }

    fn deprecate_eof(&self) -> bool {
        self.capabilities
            .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// The error for a packet that is not what we waited for: the server's own error
    /// when it is an ERR packet, else the packet itself.
    fn refusal(&self, packet: &[u8]) -> MySqlError {
        if packet.first() == Some(&0xFF)
            && let Ok(ErrPacket::Error(error)) = ParseBuf(packet).parse(self.capabilities)
        {
            let state = error.sql_state_ref().map(|s| s.as_str().into_owned());
            return MySqlError::Server {
                code: error.error_code(),
                state: state.unwrap_or_else(|| "HY000".to_owned()),
                message: error.message_str().into_owned(),
            };
        }
        unexpected(packet)
    }

    async fn command(&mut self, command: Command, body: &[u8]) -> Result<()> {
        self.codec.reset_seq_id();
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(command as u8);
        payload.extend_from_slice(body);
        self.write_packet(&payload).await
    }

    async fn write_packet(&mut self, payload: &[u8]) -> Result<()> {
        self.output.clear();
        self.codec
            .encode(&mut &*payload, &mut self.output)
            .map_err(|e| self.codec_error(e))?;
        self.stream.write_all(&self.output).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The next whole packet into `packet` (continuation packets of 16 MiB joined).
    async fn read_packet(&mut self, packet: &mut Vec<u8>) -> Result<()> {
        packet.clear();
        loop {
            match self.codec.decode(&mut self.input, packet) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(self.codec_error(e)),
            }
            self.input.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.input).await? == 0 {
                let closed = "MySQL closed the connection";
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, closed).into());
            }
        }
    }

    fn codec_error(&self, e: PacketCodecError) -> MySqlError {
        match e {
            PacketCodecError::Io(e) => MySqlError::Io(e),
            PacketCodecError::PacketTooLarge => MySqlError::Protocol(format!(
                "MySQL sent a packet larger than {} MiB, the bound LENDER_MYSQL_MAX_PACKET_MIB sets",
                self.max_packet >> 20
            )),
            other => MySqlError::Protocol(format!("MySQL packet framing: {other}")),
        }
    }
}

const PLAINTEXT_FULL_AUTH: &str = "MySQL asks for caching_sha2_password's full authentication over an unencrypted connection, which needs the password RSA-encrypted with the server's public key. Use TLS (LENDER_MYSQL_SSL_MODE=preferred or stricter, with a server that offers it), or set LENDER_MYSQL_SERVER_PUBLIC_KEY to a PEM file of that key, or allow asking the server for it with LENDER_MYSQL_GET_SERVER_PUBLIC_KEY=true (then anyone in the middle can read the password)";

/// The TLS configuration to connect with, given what the server offers; an error when the
/// mode requires TLS and the server offers none.
fn tls_to_use(settings: &Settings, offers_tls: bool) -> Result<Option<Arc<ClientConfig>>> {
    match (&settings.tls, offers_tls) {
        (Some(config), true) => Ok(Some(config.clone())),
        (Some(_), false) if settings.ssl_mode > SslMode::Preferred => {
            Err(MySqlError::Tls(format!(
                "MySQL at {} offers no TLS, and LENDER_MYSQL_SSL_MODE={} requires it",
                settings.target(),
                settings.ssl_mode
            )))
        }
        _ => Ok(None),
    }
}

/// A TLS handshake's failure, with rustls's reason (our verifier's names the certificate).
fn tls_error(e: io::Error) -> MySqlError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::General(why)) => MySqlError::Tls(why.clone()),
        Some(other) => MySqlError::Tls(format!("the TLS handshake failed: {other}")),
        None => MySqlError::Io(e),
    }
}

/// The RSA encryption of caching_sha2's full authentication; `None` for a key mysql_common
/// cannot read (it panics on one).
pub(super) fn rsa_encrypt(secret: &[u8], pem: &[u8]) -> Option<Vec<u8>> {
    std::panic::catch_unwind(|| crypto::encrypt(secret, pem)).ok()
}

fn parse<'a, T>(packet: &'a [u8], what: &str) -> Result<T>
where
    T: mysql_common::proto::MyDeserialize<'a, Ctx = ()>,
{
    ParseBuf(packet).parse(()).map_err(|e| {
        MySqlError::Protocol(format!(
            "MySQL sent a {what} packet that does not parse ({e}): {}",
            quoted(packet)
        ))
    })
}

fn serialized(packet: &impl MySerialize) -> Vec<u8> {
    let mut payload = Vec::new();
    packet.serialize(&mut payload);
    payload
}

/// The authentication data of `plugin` for `pass`; only the two plugins of our servers:
/// the others would send the password in clear (`mysql_clear_password`) or are not built
/// in (mysql_common panics on ed25519 and parsec without their features).
fn scramble(plugin: &AuthPlugin<'_>, pass: Option<&str>, nonce: &[u8]) -> Result<Option<Vec<u8>>> {
    match plugin {
        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => {
            Ok(plugin.gen_data(pass, nonce).map(|data| data.to_vec()))
        }
        other => Err(MySqlError::Refused(format!(
            "MySQL asks for the authentication method {}, which lender does not use (it speaks mysql_native_password and caching_sha2_password): change the account's plugin",
            String::from_utf8_lossy(other.as_bytes())
        ))),
    }
}

fn unexpected(packet: &[u8]) -> MySqlError {
    MySqlError::Protocol(format!(
        "MySQL sent an unexpected packet: {}",
        quoted(packet)
    ))
}

/// The first bytes of a packet, in hex, with its length.
fn quoted(packet: &[u8]) -> String {
    let shown: Vec<String> = packet[..packet.len().min(QUOTED)]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{} bytes [{}]", packet.len(), shown.join(" "))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
