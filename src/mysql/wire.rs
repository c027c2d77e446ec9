//! A MySQL connection of our own for the export query: mysql_async decodes every cell of a
//! row into a `Value` (an allocation and a copy per text cell), and exposes no raw row
//! packets, so the export reads them here and decodes them straight into Arrow (`binary`).
//! Built from mysql_common's protocol pieces (the same ones mysql_async uses): packet
//! framing with 16 MiB continuation packets, the handshake, authentication by
//! `mysql_native_password` (MariaDB) and `caching_sha2_password` (Oracle MySQL, plain TCP:
//! full authentication RSA-encrypts the password with the server's public key, as
//! mysql_async does), prepared statements. Errors are mysql_async's own types, so they read
//! exactly as the errors of the mysql_async path did.

use std::{io, time::Duration};

use bytes::BytesMut;
use mysql_async::{Column, DriverError, Opts, Result, consts::CapabilityFlags};
use mysql_common::{
    crypto,
    io::ParseBuf,
    packets::{
        AuthPlugin, AuthSwitchRequest, ErrPacket, HandshakePacket, HandshakeResponse, StmtPacket,
    },
    proto::{MySerialize, codec::PacketCodec},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const COM_QUIT: u8 = 0x01;
const COM_QUERY: u8 = 0x03;
const COM_STMT_PREPARE: u8 = 0x16;
const COM_STMT_EXECUTE: u8 = 0x17;

/// Largest packet accepted: MySQL's own ceiling of max_allowed_packet (1 GiB).
const MAX_PACKET: usize = 1 << 30;

/// Bytes asked of the socket per read: a few hundred rows of the export, so the reads cost
/// little next to decoding.
const READ_CHUNK: usize = 256 * 1024;

/// How much of an unexpected packet an error quotes: enough to recognise it.
const QUOTED: usize = 64;

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

/// One authenticated connection; reads and writes whole packets.
pub(super) struct Wire {
    stream: TcpStream,
    codec: PacketCodec,
    input: BytesMut,
    output: BytesMut,
    capabilities: CapabilityFlags,
    id: u32,
}

impl Wire {
    /// Connects to the server of `opts` as its user, then runs its `init` statements (the
    /// session's lock-wait bound). TCP keepalive after `keepalive` idle.
    pub(super) async fn open(opts: &Opts, keepalive: Duration) -> Result<Self> {
        let stream = TcpStream::connect((opts.ip_or_hostname(), opts.tcp_port())).await?;
        stream.set_nodelay(true)?;
        let probes = socket2::TcpKeepalive::new().with_time(keepalive);
        socket2::SockRef::from(&stream).set_tcp_keepalive(&probes)?;
        let mut wire = Wire {
            stream,
            codec: codec(),
            input: BytesMut::with_capacity(READ_CHUNK),
            output: BytesMut::new(),
            capabilities: CapabilityFlags::empty(),
            id: 0,
        };
        wire.handshake(opts).await?;
        for statement in opts.init() {
            wire.query_drop(statement).await?;
        }
        Ok(wire)
    }

    /// A connection past its handshake, for tests that play the server.
    #[cfg(test)]
    pub(super) fn raw(stream: TcpStream) -> Self {
        Wire {
            stream,
            codec: codec(),
            input: BytesMut::new(),
            output: BytesMut::new(),
            capabilities: CLIENT_CAPABILITIES,
            id: 0,
        }
    }

    /// The server's id of this connection (for KILL).
    pub(super) fn id(&self) -> u32 {
        self.id
    }

    async fn handshake(&mut self, opts: &Opts) -> Result<()> {
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        if packet.first() == Some(&0xFF) {
            return Err(self.refusal(&packet)); // e.g. too many connections
        }
        let (plugin, nonce, payload) = {
            let handshake: HandshakePacket = ParseBuf(&packet).parse(())?;
            self.id = handshake.connection_id();
            let plugin = handshake
                .auth_plugin()
                .unwrap_or(AuthPlugin::MysqlNativePassword)
                .into_owned();
            let nonce = handshake.nonce();
            let data = scramble(&plugin, opts.pass(), &nonce)?;
            let response = HandshakeResponse::new(
                data.as_deref(),
                handshake.server_version_parsed().unwrap_or((0, 0, 0)),
                opts.user().map(str::as_bytes),
                opts.db_name().map(str::as_bytes),
                Some(plugin.clone()),
                CLIENT_CAPABILITIES & handshake.capabilities(),
                None,
                MAX_PACKET as u32,
            );
            self.capabilities = response.capabilities();
            let mut payload = Vec::new();
            response.serialize(&mut payload);
            (plugin, nonce, payload)
        };
        self.write_packet(&payload).await?;
        self.authenticate(plugin, nonce, opts.pass()).await
    }

    /// Answers the server until it accepts (OK) or refuses (ERR): one switch of plugin
    /// at most, and caching_sha2's fast (cached) or full authentication.
    async fn authenticate(
        &mut self,
        mut plugin: AuthPlugin<'static>,
        mut nonce: Vec<u8>,
        pass: Option<&str>,
    ) -> Result<()> {
        let mut packet = Vec::new();
        let mut switched = false;
        loop {
            self.read_packet(&mut packet).await?;
            match (packet.first(), &plugin) {
                (Some(0x00), _) => return Ok(()),
                (Some(0xFE), _) if !switched => {
                    switched = true;
                    let request: AuthSwitchRequest = ParseBuf(&packet).parse(())?;
                    plugin = request.auth_plugin().into_owned();
                    nonce = request.plugin_data().to_vec();
                    let data = scramble(&plugin, pass, &nonce)?.unwrap_or_default();
                    self.write_packet(&data).await?;
                }
                // caching_sha2: 3 = the server's cache knew us (an OK follows), 4 = it did
                // not (the first connection after a restart or FLUSH PRIVILEGES)
                (Some(0x01), AuthPlugin::CachingSha2Password) => match packet.get(1) {
                    Some(0x03) => {}
                    Some(0x04) => self.full_sha2_auth(pass, &nonce).await?,
                    _ => return Err(self.refusal(&packet)),
                },
                _ => return Err(self.refusal(&packet)),
            }
        }
    }

    /// caching_sha2_password's full authentication without TLS: the password (NUL
    /// terminated, XORed with the nonce) RSA-encrypted with the server's public key, asked
    /// for here. Connections are few (one per export), so the key is not kept.
    async fn full_sha2_auth(&mut self, pass: Option<&str>, nonce: &[u8]) -> Result<()> {
        self.write_packet(&[0x02]).await?;
        let mut key = Vec::new();
        self.read_packet(&mut key).await?;
        let (Some(0x01), Some(pem), false) = (key.first(), key.get(1..), nonce.is_empty()) else {
            return Err(self.refusal(&key));
        };
        let mut secret = pass.unwrap_or_default().as_bytes().to_vec();
        secret.push(0);
        for (i, byte) in secret.iter_mut().enumerate() {
            *byte ^= nonce[i % nonce.len()];
        }
        // mysql_common panics on a key it cannot read; a bad key is the server's fault
        let encrypted = std::panic::catch_unwind(|| crypto::encrypt(&secret, pem))
            .map_err(|_| unexpected(&key))?;
        self.write_packet(&encrypted).await
    }

    /// Runs a statement that returns no rows.
    pub(super) async fn query_drop(&mut self, sql: &str) -> Result<()> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
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
        self.command(COM_STMT_PREPARE, sql.as_bytes()).await?;
        let mut packet = Vec::new();
        self.read_packet(&mut packet).await?;
        if packet.first() != Some(&0x00) {
            return Err(self.refusal(&packet));
        }
        let statement: StmtPacket = ParseBuf(&packet).parse(())?;
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
        let mut body = statement.to_le_bytes().to_vec();
        body.extend_from_slice(&[0x00, 1, 0, 0, 0]); // no cursor, one iteration
        self.command(COM_STMT_EXECUTE, &body).await?;
        self.columns().await
    }

    /// Runs `sql` by the text protocol (COM_QUERY) and reads its column definitions; its
    /// rows follow through [`Wire::next_text_row`]. Only measured against the binary
    /// protocol (tests): the export uses the binary one.
    #[cfg(test)]
    pub(super) async fn query(&mut self, sql: &str) -> Result<Vec<Column>> {
        self.command(COM_QUERY, sql.as_bytes()).await?;
        self.columns().await
    }

    /// The text protocol's row: any first byte but 0xFF (ERR) and a short 0xFE (the end).
    #[cfg(test)]
    pub(super) async fn next_text_row(&mut self, packet: &mut Vec<u8>) -> Result<bool> {
        self.read_packet(packet).await?;
        match packet.first() {
            Some(0xFE) if packet.len() < 0xFF_FFFF => Ok(false),
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
            columns.push(ParseBuf(&packet).parse::<Column>(())?);
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
            Some(0xFE) if packet.len() < 0xFF_FFFF => Ok(false),
            _ => Err(self.refusal(packet)),
        }
    }

    /// Says goodbye (COM_QUIT); the server closes the connection.
    pub(super) async fn quit(mut self) -> Result<()> {
        self.command(COM_QUIT, &[]).await
    }

    fn deprecate_eof(&self) -> bool {
        self.capabilities
            .contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    /// The error for a packet that is not what we waited for: the server's own error
    /// when it is an ERR packet, else the packet itself.
    fn refusal(&self, packet: &[u8]) -> mysql_async::Error {
        if packet.first() == Some(&0xFF)
            && let Ok(ErrPacket::Error(error)) = ParseBuf(packet).parse(self.capabilities)
        {
            return error.into();
        }
        unexpected(packet)
    }

    async fn command(&mut self, command: u8, body: &[u8]) -> Result<()> {
        self.codec.reset_seq_id();
        let mut payload = Vec::with_capacity(1 + body.len());
        payload.push(command);
        payload.extend_from_slice(body);
        self.write_packet(&payload).await
    }

    async fn write_packet(&mut self, payload: &[u8]) -> Result<()> {
        self.output.clear();
        self.codec.encode(&mut &*payload, &mut self.output)?;
        self.stream.write_all(&self.output).await?;
        Ok(())
    }

    /// The next whole packet into `packet` (continuation packets of 16 MiB joined).
    async fn read_packet(&mut self, packet: &mut Vec<u8>) -> Result<()> {
        packet.clear();
        while !self.codec.decode(&mut self.input, packet)? {
            self.input.reserve(READ_CHUNK);
            if self.stream.read_buf(&mut self.input).await? == 0 {
                let closed = "MySQL closed the connection";
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, closed).into());
            }
        }
        Ok(())
    }
}

/// Packet framing that accepts rows up to MySQL's largest packet (mysql_common's default
/// stops at 4 MiB).
fn codec() -> PacketCodec {
    let mut codec = PacketCodec::default();
    codec.max_allowed_packet = MAX_PACKET;
    codec
}

/// The authentication data of `plugin` for `pass`; only the two plugins of our servers:
/// mysql_common panics on the ones built without their features (ed25519, parsec).
fn scramble(plugin: &AuthPlugin<'_>, pass: Option<&str>, nonce: &[u8]) -> Result<Option<Vec<u8>>> {
    match plugin {
        AuthPlugin::MysqlNativePassword | AuthPlugin::CachingSha2Password => {
            Ok(plugin.gen_data(pass, nonce).map(|data| data.to_vec()))
        }
        other => Err(DriverError::UnknownAuthPlugin {
            name: String::from_utf8_lossy(other.as_bytes()).into_owned(),
        }
        .into()),
    }
}

fn unexpected(packet: &[u8]) -> mysql_async::Error {
    DriverError::UnexpectedPacket {
        payload: packet[..packet.len().min(QUOTED)].to_vec(),
    }
    .into()
}
