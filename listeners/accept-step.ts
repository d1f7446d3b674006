import type net from 'node:net';
import type { ConnectionMeta, ListenerSpec } from '../src/transport/types.js';

/**
 * A step between accepting a socket and handing it to the protocol front:
 * Proxy Protocol header, TLS handshake. It may replace the stream (TLS) and fill
 * in the meta; a thrown error refuses the connection with its message as reason.
 */
export type AcceptStep = (stream: net.Socket, meta: ConnectionMeta, spec: ListenerSpec) => Promise<net.Socket>;
