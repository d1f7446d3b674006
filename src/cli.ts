import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import { ListenerStartError } from '../listeners/listener.js';
import { startGatehouse } from './main.js';
import { configChecks, filePermissionWarnings } from './checks.js';
import { usersCommand } from './commands/users.js';
import { pskCommand } from './commands/psk.js';
import { aclCommand } from './commands/acl.js';
import { UserImportError } from './store/index.js';

/** The package root: the nearest folder above this file with a package.json (src/ or dist/src/). */
const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) return dir;
  }
}
const DEFAULT_CONFIG = 'etc/gatehouse.conf';
/** Stop must be done by then, or the process goes anyway. */
const SHUTDOWN_LIMIT_MS = 4500;

const HELP = `gatehouse: MQTT 3.1/3.1.1/5.0 and STOMP broker with EMQX 5-style authentication

Usage:
  gatehouse start [--config FILE]        run the broker (default config: ${DEFAULT_CONFIG})
  gatehouse check-config FILE            validate a configuration file and exit
  gatehouse users add|update|delete|list|import ...   manage built-in database users (--help)
  gatehouse psk import|delete|count ...   manage TLS-PSK identities (--help)
  gatehouse acl list|add|delete|import ...  manage built-in database authorization rules (--help)
  gatehouse --version                    print the version
  gatehouse --help                       this text

Configuration values can be overridden from the environment:
  GATEHOUSE_LISTENERS__TCP__DEFAULT__BIND=127.0.0.1:11883 sets listeners.tcp.default.bind
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`gatehouse ${version()}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'start':
        return await start(rest);
      case 'check-config':
        return checkConfig(rest);
      case 'users':
        return await usersCommand(rest);
      case 'psk':
        return await pskCommand(rest);
      case 'acl':
        return await aclCommand(rest);
      default:
        process.stderr.write(`gatehouse: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    if (err instanceof UserImportError) {
      process.stderr.write(`gatehouse: import failed (${err.code}): ${err.message}\n`);
      return 1;
    }
    if (err instanceof ListenerStartError) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
    return 1;
  }
}

function checkConfig(args: string[]): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('gatehouse: check-config needs a FILE\n');
    return 2;
  }
  const config = loadConfigFile(file, { checks: configChecks() });
  for (const warning of filePermissionWarnings(config, process.cwd())) process.stderr.write(`gatehouse: warning: ${warning}\n`);
  process.stdout.write(`${file}: configuration is valid\n`);
  return 0;
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  const file = values.config ?? process.env['GATEHOUSE_CONFIG'] ?? DEFAULT_CONFIG;
  // Signals are taken from the first moment, so one that arrives while starting still stops cleanly.
  let signalled: NodeJS.Signals | undefined;
  let onSignal: (() => void) | undefined;
  const take = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = signal;
    onSignal?.();
  };
  process.on('SIGTERM', take);
  process.on('SIGINT', take);
  const config = loadConfigFile(file, { checks: configChecks(), overridesFrom: process.cwd() });
  const node = await startGatehouse(config, { baseDir: process.cwd(), devCertificates: true });
  node.logger.info({ version: version(), config: file }, 'gatehouse started');
  await new Promise<void>((resolveStop) => {
    onSignal = () => {
      node.logger.info({ signal: signalled }, 'shutting down');
      const force = setTimeout(() => {
        node.logger.warn('shutdown took too long; exiting');
        resolveStop();
      }, SHUTDOWN_LIMIT_MS);
      force.unref();
      node
        .stop()
        .catch((err: Error) => node.logger.error({ err: err.message }, 'error during shutdown'))
        .finally(() => {
          clearTimeout(force);
          node.logger.info('stopped');
          resolveStop();
        });
    };
    if (signalled) onSignal();
  });
  return 0;
}
