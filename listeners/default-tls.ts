// What an ssl or wss listener uses when its `ssl_options` leave something out: the settings'
// defaults, and for the certificate files the TEST-ONLY development set of `npm run certs`.
// Whether that set gets generated is the composition root's decision (src/main.ts); this
// file only says whether a listener would need one that is missing.

import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { ListenerSpec } from '../src/transport/types.js';

/** Where the development certificates live, relative to the working directory. */
export const DEV_CERTIFICATES_DIR = 'certs';

/** Where `ssl_options` files point when they are not given: the development set from `npm run certs`. */
export const DEFAULT_TLS_FILES = { cacertfile: 'certs/ca.pem', certfile: 'certs/server.pem', keyfile: 'certs/server-key.pem' } as const;

/** `ssl_options` of an ssl/wss listener whose spec carries none (the schema's defaults). */
export function defaultSsl(): NonNullable<ListenerSpec['ssl']> {
  return {
    verify: 'verify_none',
    fail_if_no_peer_cert: false,
    depth: 10,
    versions: ['tlsv1.3', 'tlsv1.2'],
    ciphers: [],
    handshake_timeout: '15s',
    enable_crl_check: false,
  };
}

/**
 * Whether the development certificates should be generated into `<baseDir>/certs`: an
 * enabled ssl/wss listener needs a file there (by default or by name) that does not exist
 * yet, or `wanted` (`gatehouse start`) and the default server certificate is missing.
 */
export function devCertificatesNeeded(specs: readonly ListenerSpec[], baseDir: string, wanted = false): boolean {
  if (wanted && !existsSync(resolve(baseDir, DEFAULT_TLS_FILES.certfile))) return true;
  const dir = resolve(baseDir, DEV_CERTIFICATES_DIR) + sep;
  for (const spec of specs) {
    if (!spec.enable || (spec.transport !== 'ssl' && spec.transport !== 'wss')) continue;
    const ssl = spec.ssl ?? defaultSsl();
    for (const field of ['certfile', 'keyfile', 'cacertfile'] as const) {
      const value = ssl[field] ?? DEFAULT_TLS_FILES[field];
      if (value.includes('-----BEGIN')) continue;
      const path = resolve(baseDir, value);
      if (path.startsWith(dir) && !existsSync(path)) return true;
    }
  }
  return false;
}
