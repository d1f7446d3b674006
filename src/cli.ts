import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import { configChecks, authenticatorRegistry, startGatehouse, type RunningNode } from './main.js';
import { filePermissionWarnings } from './config/permissions.js';
import { usersCommand } from './commands/users.js';
import { pskCommand } from './commands/psk.js';
import { reloadCommand, writePidFile, writeReloadStatus } from './commands/reload.js';
import { bannedCommand } from './commands/banned.js';
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
  gatehouse reload [--config FILE]       make the running node read its configuration again
                                         (the same as SIGHUP to its pid; --help)
  gatehouse users add|update|delete|list|import ...   manage built-in database users (--help)
  gatehouse psk import|delete|count ...   manage TLS-PSK identities (--help)
  gatehouse banned list|add|delete|clear ...   the banned list (--help)
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
      case 'reload':
        return await reloadCommand(rest, configChecks());
      case 'users':
        return await usersCommand(rest, authenticatorRegistry());
      case 'psk':
        return await pskCommand(rest, configChecks());
      case 'banned':
        return await bannedCommand(rest, configChecks());
      case 'acl':
        return await aclCommand(rest, configChecks());
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
  // SIGHUP reloads the configuration (once the node runs; one that comes while starting waits).
  let onReload: (() => void) | undefined;
  let reloadPending = false;
  process.on('SIGHUP', () => (onReload ? onReload() : (reloadPending = true)));
  const authenticators = authenticatorRegistry();
  const load = () => loadConfigFile(file, { checks: configChecks(authenticators), overridesFrom: process.cwd() });
  const config = load();
  const node = await startGatehouse(config, { baseDir: process.cwd(), devCertificates: true, authenticators, load });
  node.logger.info({ version: version(), config: file }, 'gatehouse started');
  const dataDir = resolve(process.cwd(), config.node.data_dir);
  const removePidFile = writePidFile(dataDir);
  onReload = () => void reload(node, dataDir);
  if (reloadPending) onReload();
  await new Promise<void>((resolveStop) => {
    onSignal = () => {
      node.logger.info({ signal: signalled }, 'shutting down');
      onReload = () => node.logger.warn('reload ignored: the node is shutting down');
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
  removePidFile();
  return 0;
}

/**
 * One reload of a running `gatehouse start`: the node applies the difference (and logs what
 * changed, or why it refused and keeps its configuration); the outcome is left in the data
 * directory for `gatehouse reload`.
 */
async function reload(node: RunningNode, dataDir: string): Promise<void> {
  let status: Parameters<typeof writeReloadStatus>[1];
  try {
    const { changed } = await node.reload();
    status = { at: Date.now(), pid: process.pid, result: 'applied', changed };
  } catch (err) {
    status = { at: Date.now(), pid: process.pid, result: 'refused', error: (err as Error).message };
  }
  try {
    writeReloadStatus(dataDir, status);
  } catch (err) {
    node.logger.warn({ error: (err as Error).message }, 'the outcome of the reload could not be written for gatehouse reload');
  }
}
