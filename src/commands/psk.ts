import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, withNodeStore } from './node-options.js';
import { loadConfigFile, type ConfigCheck } from '../config/load.js';

export const PSK_HELP = `gatehouse psk: manage TLS-PSK identities in the node's built-in database

  gatehouse psk import FILE        identity<separator>secret lines (psk_authentication.separator)
  gatehouse psk delete IDENTITY
  gatehouse psk count

Options: --config FILE (default etc/gatehouse.conf), --data-dir DIR.
Handshakes look identities up in the store, so a change applies to the next
TLS handshake of a running node: no restart.
`;

export async function pskCommand(args: string[], checks: ConfigCheck[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...NODE_OPTIONS,
    },
  });
  const [action, arg] = positionals;
  if (values.help || !action) {
    out.write(PSK_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfigFile(values.config!, { checks });
  return withNodeStore(values['data-dir'] ?? config.node.data_dir, err, [], (store) => {
    switch (action) {
      case 'import': {
        if (!arg) break;
        const { separator, chunk_size } = config.psk_authentication;
        const { imported } = store.psk.importPskFile(readFileSync(arg), separator, chunk_size);
        out.write(`imported ${imported} PSK identities\n`);
        return 0;
      }
      case 'delete': {
        if (!arg) break;
        if (store.psk.delete(arg) === 'not_found') {
          err.write(`gatehouse: PSK identity ${arg} not found\n`);
          return 1;
        }
        out.write(`deleted ${arg}\n`);
        return 0;
      }
      case 'count':
        out.write(`${store.psk.count()}\n`);
        return 0;
    }
    err.write(`gatehouse: psk ${action} needs an argument or is unknown\n\n${PSK_HELP}`);
    return 2;
  });
}
