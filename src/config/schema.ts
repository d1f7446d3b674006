import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Bind, ByteSize, Duration, DURATION_PATTERN, Enum } from './types.js';

/**
 * The one schema of Gatehouse's configuration: validation, defaults and types.
 * Shapes and names follow EMQX 5 (emqx5-auth.md §11, Appendix A). Defaults live
 * here and nowhere else.
 */

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]*$';

/**
 * An authenticator block. The root schema only checks what routes it to a backend;
 * the backend's own schema (src/authn/backends/<backend>) validates the rest.
 */
export const AuthenticatorConfig = Type.Object(
  {
    mechanism: Type.String({ minLength: 1, expected: 'an authentication mechanism such as password_based' }),
    backend: Type.Optional(Type.String({ minLength: 1 })),
    enable: Type.Boolean({ default: true }),
  },
  { additionalProperties: true },
);
export type AuthenticatorConfig = Static<typeof AuthenticatorConfig> & Record<string, unknown>;

/** `authentication = {...}` is the same as `authentication = [{...}]` (normalised before validation). */
export const AuthenticationList = Type.Array(AuthenticatorConfig, { default: [] });

export const EnableAuthn = Type.Union([Type.Boolean(), Type.Literal('quick_deny_anonymous')], {
  default: true,
  expected: 'true, false or quick_deny_anonymous',
});

const PeerCertAs = Enum(
  ['disabled', 'cn', 'dn', 'crt', 'pem', 'md5', 'san_dns', 'san_email', 'san_uri', 'fingerprint_sha256', 'psk_identity'] as const,
  { default: 'disabled' },
);

const MaxConnections = Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('infinity')], {
  default: 'infinity',
  expected: 'a positive integer or "infinity"',
});

const tcpOptionFields = {
  nodelay: Type.Boolean({ default: true }),
  backlog: Type.Integer({ minimum: 1, default: 1024 }),
  active_n: Type.Optional(Type.Integer()),
  recbuf: Type.Optional(ByteSize('4KB')),
  sndbuf: Type.Optional(ByteSize('4KB')),
  buffer: Type.Optional(ByteSize('4KB')),
  reuseaddr: Type.Optional(Type.Boolean()),
  keepalive: Type.Optional(Type.String()),
};

/**
 * MQTT listeners bound each connection's outbound data (src/broker/outbound.ts): past
 * `high_watermark` buffered bytes QoS 0 messages are dropped and QoS 1/2 ones wait in the
 * session queue (`mqtt.max_mqueue_len`); a connection that flushes nothing for `send_timeout`
 * is closed when `send_timeout_close` (EMQX's names and defaults).
 */
const TcpOptions = Type.Object(
  {
    ...tcpOptionFields,
    send_timeout: Duration('15s', { description: 'a connection over its high_watermark that flushes nothing for this long is stuck' }),
    send_timeout_close: Type.Boolean({ default: true, description: 'close a connection stuck past send_timeout' }),
    high_watermark: ByteSize('1MB', { description: 'buffered outbound bytes past which a connection is a slow consumer' }),
  },
  { additionalProperties: false, default: {} },
);

/** STOMP gateway listeners keep their own outbound bound (gateways/stomp): the send settings are refused there. */
const StompTcpOptions = Type.Object(tcpOptionFields, { additionalProperties: false, default: {} });

const PemOrPath = Type.String({ minLength: 1, expected: 'a file path or inline PEM text' });

export const SslOptions = Type.Object(
  {
    cacertfile: Type.Optional(PemOrPath),
    certfile: Type.Optional(PemOrPath),
    keyfile: Type.Optional(PemOrPath),
    password: Type.Optional(Type.String()),
    verify: Enum(['verify_none', 'verify_peer'] as const, { default: 'verify_none' }),
    fail_if_no_peer_cert: Type.Boolean({ default: false }),
    depth: Type.Integer({ minimum: 0, default: 10 }),
    versions: Type.Array(Enum(['tlsv1.2', 'tlsv1.3'] as const), { default: ['tlsv1.3', 'tlsv1.2'], minItems: 1 }),
    ciphers: Type.Union([Type.Array(Type.String()), Type.String()], { default: [] }),
    handshake_timeout: Duration('15s'),
    enable_crl_check: Type.Boolean({ default: false }),
    crlfile: Type.Optional(PemOrPath),
    secure_renegotiate: Type.Optional(Type.Boolean()),
    reuse_sessions: Type.Optional(Type.Boolean()),
    honor_cipher_order: Type.Optional(Type.Boolean()),
    client_renegotiation: Type.Optional(Type.Boolean()),
    dhfile: Type.Optional(Type.String()),
    log_level: Type.Optional(Type.String()),
    hibernate_after: Type.Optional(Duration('5s')),
    gc_after_handshake: Type.Optional(Type.Boolean()),
    user_lookup_fun: Type.Optional(Type.String()),
  },
  { additionalProperties: false, default: {} },
);
export type SslOptions = Static<typeof SslOptions>;

export const WebsocketOptions = Type.Object(
  {
    mqtt_path: Type.String({ pattern: '^/', default: '/mqtt', expected: 'a path starting with /' }),
    mqtt_piggyback: Enum(['single', 'multiple'] as const, { default: 'multiple' }),
    compress: Type.Boolean({ default: false }),
    idle_timeout: Duration('7200s'),
    max_frame_size: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('infinity')], { default: 'infinity' }),
    fail_if_no_subprotocol: Type.Boolean({ default: true }),
    supported_subprotocols: Type.String({ default: 'mqtt, mqtt-v3, mqtt-v3.1.1, mqtt-v5, mqttv3.1' }),
    check_origin_enable: Type.Boolean({ default: false }),
    allow_origin_absence: Type.Boolean({ default: true }),
    check_origins: Type.String({ default: 'http://localhost:18083, http://127.0.0.1:18083' }),
    proxy_address_header: Type.String({ default: 'x-forwarded-for' }),
    proxy_port_header: Type.String({ default: 'x-forwarded-port' }),
    validate_utf8: Type.Boolean({ default: true }),
    deflate_opts: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false, default: {} },
);
export type WebsocketOptions = Static<typeof WebsocketOptions>;

function listenerFields<T extends TSchema>(defaultBind: string, tcpOptions: T) {
  return {
    enable: Type.Boolean({ default: true }),
    bind: Bind(defaultBind),
    acceptors: Type.Integer({ minimum: 1, default: 16 }),
    max_connections: MaxConnections,
    mountpoint: Type.String({ default: '' }),
    zone: Type.String({ default: 'default' }),
    enable_authn: EnableAuthn,
    access_rules: Type.Array(Type.String(), { default: ['allow all'] }),
    proxy_protocol: Type.Boolean({ default: false }),
    proxy_protocol_timeout: Duration('3s'),
    proxy_protocol_trusted_cidrs: Type.Array(Type.String(), { default: [] }),
    authentication: AuthenticationList,
    tcp_options: tcpOptions,
  };
}

export const TcpListener = Type.Object(listenerFields('127.0.0.1:1883', TcpOptions), { additionalProperties: false });
export const SslListener = Type.Object(
  { ...listenerFields('127.0.0.1:8883', TcpOptions), ssl_options: SslOptions },
  { additionalProperties: false },
);
export const WsListener = Type.Object(
  { ...listenerFields('127.0.0.1:8083', TcpOptions), websocket: WebsocketOptions },
  { additionalProperties: false },
);
export const WssListener = Type.Object(
  { ...listenerFields('127.0.0.1:8084', TcpOptions), websocket: WebsocketOptions, ssl_options: SslOptions },
  { additionalProperties: false },
);

function named<T extends TSchema>(schema: T) {
  return Type.Record(Type.String({ pattern: NAME_PATTERN }), schema, {
    additionalProperties: false,
    default: {},
    expected: 'listener names made of letters, digits, _ and -',
  });
}

export const Listeners = Type.Object(
  {
    tcp: named(TcpListener),
    ssl: named(SslListener),
    ws: named(WsListener),
    wss: named(WssListener),
  },
  { additionalProperties: false, default: {} },
);

export const ListenerSchemas = { tcp: TcpListener, ssl: SslListener, ws: WsListener, wss: WssListener } as const;
export type ListenerType = keyof typeof ListenerSchemas;
export const LISTENER_TYPES = Object.keys(ListenerSchemas) as ListenerType[];
export type TcpListenerConfig = Static<typeof TcpListener>;
export type SslListenerConfig = Static<typeof SslListener>;
export type WsListenerConfig = Static<typeof WsListener>;
export type WssListenerConfig = Static<typeof WssListener>;
/** Every listener type's fields; the optional parts are present for the types that have them. */
export type ListenerConfig = TcpListenerConfig & { ssl_options?: SslOptions; websocket?: WebsocketOptions };

const LogLevel = Enum(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency', 'all', 'none'] as const, {
  default: 'info',
});

export const StompListeners = Type.Object(
  {
    tcp: named(Type.Object(listenerFields('127.0.0.1:61613', StompTcpOptions), { additionalProperties: false })),
    ssl: named(Type.Object({ ...listenerFields('127.0.0.1:61614', StompTcpOptions), ssl_options: SslOptions }, { additionalProperties: false })),
    ws: named(
      Type.Object(
        {
          ...listenerFields('127.0.0.1:61615', StompTcpOptions),
          websocket: Type.Object(
            {
              path: Type.String({ pattern: '^/', default: '/stomp' }),
              supported_subprotocols: Type.String({ default: 'v12.stomp, v11.stomp, v10.stomp' }),
              fail_if_no_subprotocol: Type.Boolean({ default: false }),
            },
            { additionalProperties: false, default: {} },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const StompGateway = Type.Object(
  {
    enable: Type.Boolean({ default: true }),
    /** EMQX's default is true; Gatehouse keeps no per-client statistics, so only false is accepted (src/config/unsupported.ts). */
    enable_stats: Type.Optional(Type.Boolean()),
    idle_timeout: Duration('30s'),
    mountpoint: Type.String({ default: '' }),
    frame: Type.Object(
      {
        max_headers: Type.Integer({ minimum: 1, default: 10 }),
        max_headers_length: Type.Integer({ minimum: 1, default: 1024 }),
        max_body_length: Type.Integer({ minimum: 1, default: 65536 }),
      },
      { additionalProperties: false, default: {} },
    ),
    clientinfo_override: Type.Object(
      {
        username: Type.Optional(Type.String()),
        password: Type.Optional(Type.String()),
        clientid: Type.Optional(Type.String()),
      },
      { additionalProperties: false, default: {} },
    ),
    authentication: Type.Union([AuthenticationList, AuthenticatorConfig], { default: [] }),
    listeners: StompListeners,
  },
  { additionalProperties: false },
);
export type StompGatewayConfig = Static<typeof StompGateway>;

/**
 * `authorization` (§8.3), EMQX's names and defaults, except `sources`: EMQX starts with a
 * file source on its acl.conf; Gatehouse starts with none (every client may do everything,
 * as EMQX's default acl.conf and no_match = allow amount to). The root schema checks what
 * routes a source block to its type; the type's own schema (src/authz/sources/<type>)
 * validates the rest.
 */
export const AuthorizationConfig = Type.Object(
  {
    no_match: Enum(['allow', 'deny'] as const, { default: 'allow', description: 'the decision when no source matched' }),
    deny_action: Enum(['ignore', 'disconnect'] as const, { default: 'ignore', description: 'MQTT: what a denied publish or subscribe does to the client' }),
    cache: Type.Object(
      {
        enable: Type.Boolean({ default: true }),
        max_size: Type.Integer({ minimum: 1, maximum: 1048576, default: 32, description: 'decisions kept per client' }),
        ttl: Duration('1m', { description: 'how long a cached decision lasts' }),
        excludes: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'topic filters whose topics are never cached' }),
      },
      { additionalProperties: false, default: {} },
    ),
    sources: Type.Array(
      Type.Object(
        { type: Type.String({ minLength: 1, expected: 'a source type such as file or built_in_database' }), enable: Type.Boolean({ default: true }) },
        { additionalProperties: true },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false, default: {} },
);

/** A duration, or EMQX's old `disable` (window_time only: turns flapping detection off). */
const WindowTime = (defaults: boolean) =>
  Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Integer({ minimum: 0 }), Type.Literal('disable')], {
    ...(defaults ? { default: '1m' } : {}),
    expected: 'a duration such as "1m" or "30s", or "disable"',
  });

/**
 * EMQX's `flapping_detect` (emqx_schema `fields("flapping_detect")`, emqx5-auth.md §13.4): a client
 * id that connects `max_count` times within `window_time` is banned for `ban_time`. EMQX accepts
 * max_count 0, which bans every client at its first CONNECT; Gatehouse refuses it.
 */
export const FlappingDetect = Type.Object(
  {
    enable: Type.Boolean({ default: false }),
    window_time: WindowTime(true),
    max_count: Type.Integer({ minimum: 1, default: 15 }),
    ban_time: Duration('5m'),
  },
  { additionalProperties: false, default: {} },
);
export type FlappingDetectConfig = Static<typeof FlappingDetect>;

/** A zone's `flapping_detect`: the keys it sets override the global block (EMQX zones have no defaults). */
const ZoneFlappingDetect = Type.Object(
  {
    enable: Type.Optional(Type.Boolean()),
    window_time: Type.Optional(WindowTime(false)),
    max_count: Type.Optional(Type.Integer({ minimum: 1 })),
    ban_time: Type.Optional(Duration('5m', { default: undefined })),
  },
  { additionalProperties: false },
);
export type ZoneFlappingDetectConfig = Static<typeof ZoneFlappingDetect>;

/** EMQX's `zones.<name>`: of its settings Gatehouse takes `flapping_detect` only (listeners name a zone with `zone`). */
const Zones = Type.Record(
  Type.String({ pattern: NAME_PATTERN }),
  Type.Object({ flapping_detect: Type.Optional(ZoneFlappingDetect) }, { additionalProperties: false }),
  { additionalProperties: false, default: {}, expected: 'zone names made of letters, digits, _ and -' },
);

export const GatehouseConfig = Type.Object(
  {
    node: Type.Object(
      {
        name: Type.String({ default: 'gatehouse@127.0.0.1' }),
        data_dir: Type.String({ minLength: 1, default: 'data' }),
        cookie: Type.Optional(Type.String()),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        console: Type.Object(
          {
            enable: Type.Boolean({ default: true }),
            level: LogLevel,
            formatter: Type.Optional(Enum(['text', 'json'] as const)),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        idle_timeout: Duration('15s', { description: 'close a connection that sends no CONNECT within this time' }),
        max_packet_size: ByteSize('1MB'),
        max_clientid_len: Type.Integer({ minimum: 23, maximum: 65535, default: 65535 }),
        peer_cert_as_username: PeerCertAs,
        peer_cert_as_clientid: PeerCertAs,
        use_username_as_clientid: Type.Boolean({ default: false }),
        session_expiry_interval: Duration('2h'),
        max_topic_levels: Type.Integer({ minimum: 1, maximum: 100, default: 100 }),
        /** QoS 1/2 messages a slow consumer's session holds past its high_watermark; 0 or infinity = no bound (EMQX). */
        max_mqueue_len: Type.Union([Type.Integer({ minimum: 0 }), Type.Literal('infinity')], {
          default: 1000,
          expected: 'a non-negative integer or "infinity"',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    authentication: AuthenticationList,
    authentication_settings: Type.Object(
      {
        timeout: Duration('5s', { description: 'an authenticator that has not answered by then ignores' }),
        /** bcrypt/pbkdf2 jobs at once, each on its own hashing thread (at a lower priority); absent = one per CPU. */
        hash_concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
        /**
         * bcrypt/pbkdf2 logins allowed to wait for a hashing slot: per client address, and in all.
         * Waiting logins are served round robin by address; a login past a bound is refused at
         * once with server_busy (CONNACK 0x89, v3 code 3).
         */
        hash_queue: Type.Object(
          {
            per_address: Type.Integer({ minimum: 1, default: 32 }),
            total: Type.Integer({ minimum: 1, default: 1000 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /**
         * max_count authentication failures from one address, or for one username, within
         * window_time ban that address or username for ban_time (reason login_failures); 0 = off.
         */
        login_failures: Type.Object(
          {
            max_count: Type.Integer({ minimum: 0, default: 0 }),
            window_time: Duration('1m'),
            ban_time: Duration('5m'),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    authorization: AuthorizationConfig,
    flapping_detect: FlappingDetect,
    zones: Zones,
    listeners: Listeners,
    gateway: Type.Object({ stomp: Type.Optional(StompGateway) }, { additionalProperties: false, default: {} }),
    // EMQX's cache of CRLs fetched from the certificates' distribution points, for listeners
    // with ssl_options.enable_crl_check = true and no crlfile (listeners/crl-cache.ts).
    crl_cache: Type.Object(
      {
        refresh_interval: Duration('15m', { description: 'each cached CRL is fetched again this often' }),
        http_timeout: Duration('15s', { description: 'a CRL fetch that has not completed by then fails (the client is refused)' }),
        capacity: Type.Integer({ minimum: 1, default: 100, description: 'CRLs kept at most; the least recently used is dropped' }),
      },
      { additionalProperties: false, default: {} },
    ),
    psk_authentication: Type.Object(
      {
        enable: Type.Boolean({ default: false }),
        init_file: Type.Optional(Type.String()),
        separator: Type.String({ minLength: 1, default: ':' }),
        chunk_size: Type.Integer({ minimum: 1, default: 50 }),
      },
      { additionalProperties: false, default: {} },
    ),
    dashboard: Type.Object(
      {
        listeners: Type.Object(
          {
            http: Type.Object(
              { enable: Type.Boolean({ default: true }), bind: Bind('127.0.0.1:18083') },
              { additionalProperties: false, default: {} },
            ),
            https: Type.Object(
              // Only certfile and keyfile are used yet; no default is filled for the rest (src/config/unsupported.ts).
              { enable: Type.Boolean({ default: false }), bind: Bind('127.0.0.1:18084'), ssl_options: Type.Partial(SslOptions, { default: {} }) },
              { additionalProperties: false, default: {} },
            ),
          },
          { additionalProperties: false, default: {} },
        ),
        default_username: Type.String({ default: 'admin' }),
        default_password: Type.Optional(Type.String()),
      },
      { additionalProperties: false, default: {} },
    ),
    api_key: Type.Object(
      { bootstrap_file: Type.String({ default: '' }) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type GatehouseConfig = Static<typeof GatehouseConfig>;
