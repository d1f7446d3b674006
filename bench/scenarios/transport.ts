import { gatehouse, tlsAedes } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { connectRate } from '../workloads/connect-rate.js';

/**
 * Issue 4: what transport security costs per connection.
 * - TLS: full handshake every time (the load never offers a session back), P-256 server key
 *   (the development certificates), Node's TLS defaults on the client; Gatehouse's ssl listener
 *   against aedes behind `tls.createServer` given the same key, certificate and CA file, so both
 *   send the same two-certificate chain. On two cores the TLS load generator needs about a core
 *   itself: read the broker CPU per connection alongside the rate.
 * - Proxy Protocol: Gatehouse's plain TCP listener with `proxy_protocol = true` (every client
 *   sends a v2 header first) against the same listener without it.
 */

const SSL_LISTENER = `listeners.ssl.default {
  bind = "127.0.0.1:0"
  ssl_options { certfile = "certs/server.pem", keyfile = "certs/server-key.pem", cacertfile = "certs/ca.pem" }
}`;

export const scenarios: Scenario[] = [
  {
    name: 'connect-rate-tls',
    description: 'TLS connect rate (full handshake, P-256), Gatehouse ssl listener vs aedes behind tls.createServer',
    baseline: tlsAedes(),
    candidate: gatehouse('gh-tls', SSL_LISTENER, { listener: 'ssl:default', devCertificates: true }),
    workload: connectRate(),
    target: { ratio: 0.9 },
  },
  {
    name: 'connect-rate-tls-resumed',
    description: 'TLS connect rate with resumed sessions (tickets), Gatehouse ssl listener vs aedes behind tls.createServer',
    baseline: tlsAedes('aedes-tls-resumed'),
    candidate: gatehouse('gh-tls-resumed', SSL_LISTENER, { listener: 'ssl:default', devCertificates: true }),
    workload: connectRate({ resumeTls: true }),
    target: { ratio: 0.9 },
  },
  {
    name: 'connect-rate-proxy',
    description: 'plain TCP connect rate, Gatehouse with proxy_protocol = true (PROXY v2 header) vs without',
    baseline: gatehouse('gh-plain'),
    candidate: gatehouse('gh-proxy', 'listeners.tcp.default.proxy_protocol = true'),
    workload: connectRate(),
    target: { ratio: 0.95 },
  },
];
