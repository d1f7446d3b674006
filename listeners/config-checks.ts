// The listeners' own configuration check, which src/main.ts adds to the node's list: with
// enable_crl_check a listener's TLS files are loaded here as at start, so CRL set-ups that
// would refuse every client at run time (a CA of cacertfile without a CRL in crlfile,
// RFC 5280 §6.3.3) are named by check-config. Paths resolve against the working directory,
// as `gatehouse start` does.

import type { ConfigCheck, ConfigProblem } from '../src/config/load.js';
import { configuredListeners } from '../src/config/listeners.js';
import { buildTlsSettings } from './tls.js';

export const tlsFileCheck: ConfigCheck = (config): ConfigProblem[] => {
  const problems: ConfigProblem[] = [];
  for (const { id, path, listener } of configuredListeners(config)) {
    const ssl = listener.ssl_options;
    if (!ssl?.enable_crl_check) continue;
    try {
      buildTlsSettings(id, ssl, process.cwd());
    } catch (err) {
      problems.push({ path: `${path}.ssl_options`, message: (err as Error).message });
    }
  }
  return problems;
};
