import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, withNodeStore } from './node-options.js';
import { SingleBar, Presets } from 'cli-progress';
import { pino } from 'pino';
import { loadConfigFile } from '../config/load.js';
import { configChecks } from '../main.js';
import { configuredChains } from '../authn/config-checks.js';
import { formatFromFilename } from '../store/index.js';
import type { AuthenticatorRegistry } from '../authn/registry.js';
import { UserError, type UserManager } from '../authn/authenticator.js';

export const USERS_HELP = `gatehouse users: manage built-in database users of a chain (node running or stopped)

  gatehouse users add USER_ID PASSWORD [--superuser]
  gatehouse users update USER_ID [--password PASSWORD] [--superuser true|false]
  gatehouse users delete USER_ID
  gatehouse users list [--page N] [--limit N] [--like TEXT] [--superuser true|false]
  gatehouse users import FILE.csv|FILE.json [--type plain|hash]

Options for every command:
  --chain NAME      mqtt:global (default), a listener id such as tcp:default, stomp:global
  --config FILE     the node's configuration (default etc/gatehouse.conf): gives the data
                    directory and the chain's password_hash_algorithm
  --data-dir DIR    override node.data_dir
A change takes effect for the next connection; the broker need not restart.
`;

/** Runs `gatehouse users ...`; returns the exit code. */
export async function usersCommand(
  args: string[],
  authenticators: AuthenticatorRegistry,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      chain: { type: 'string', default: 'mqtt:global' },
      ...NODE_OPTIONS,
      superuser: { type: 'string' },
      password: { type: 'string' },
      page: { type: 'string', default: '1' },
      limit: { type: 'string', default: '100' },
      like: { type: 'string' },
      type: { type: 'string', default: 'plain' },
    },
  });
  const [action, ...rest] = positionals;
  if (values.help || !action) {
    out.write(USERS_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfigFile(values.config!, { checks: configChecks(authenticators) });
  const chain = configuredChains(config).find((c) => c.name === values.chain);
  const block = chain?.authenticators.find((a) => a['mechanism'] === 'password_based' && a['backend'] === 'built_in_database');
  if (!block) {
    err.write(`gatehouse: chain ${values.chain} has no password_based:built_in_database authenticator in ${values.config}\n`);
    return 1;
  }
  return withNodeStore(values['data-dir'] ?? config.node.data_dir, err, [UserError], async (store) => {
    const factory = authenticators.get('password_based:built_in_database')!;
    const authenticator = await factory.create(
      { ...block, bootstrap_file: '' },
      { chain: values.chain!, store, logger: pino({ level: 'silent' }), baseDir: process.cwd(), fromFile: true },
    );
    const users = authenticator.users!;
    return run(users, action, rest, values, out, err);
  });
}

async function run(
  users: UserManager,
  action: string,
  rest: string[],
  values: { superuser?: string | undefined; password?: string | undefined; page?: string | undefined; limit?: string | undefined; like?: string | undefined; type?: string | undefined },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const bool = (v: string | undefined) => (v === undefined ? undefined : v === '' || v === 'true');
  switch (action) {
    case 'add': {
      const [userId, password] = rest;
      if (!userId || password === undefined) return usage(err, 'add needs USER_ID and PASSWORD');
      const u = await users.add({ user_id: userId, password, is_superuser: bool(values.superuser) ?? false });
      out.write(`added ${u.user_id}${u.is_superuser ? ' (superuser)' : ''}\n`);
      return 0;
    }
    case 'update': {
      const [userId] = rest;
      if (!userId) return usage(err, 'update needs USER_ID');
      const patch: { password?: string; is_superuser?: boolean } = {};
      if (values.password !== undefined) patch.password = values.password;
      const su = bool(values.superuser);
      if (su !== undefined) patch.is_superuser = su;
      const u = await users.update(userId, patch);
      out.write(`updated ${u.user_id}${u.is_superuser ? ' (superuser)' : ''}\n`);
      return 0;
    }
    case 'delete': {
      const [userId] = rest;
      if (!userId) return usage(err, 'delete needs USER_ID');
      users.delete(userId);
      out.write(`deleted ${userId}\n`);
      return 0;
    }
    case 'list': {
      const page = users.list({
        page: Number(values.page ?? 1),
        limit: Number(values.limit ?? 100),
        ...(values.like !== undefined ? { like_user_id: values.like } : {}),
        ...(bool(values.superuser) !== undefined ? { is_superuser: bool(values.superuser)! } : {}),
      });
      for (const u of page.data) out.write(`${u.user_id}\t${u.is_superuser ? 'superuser' : ''}\n`);
      out.write(`# page ${page.meta.page}, ${page.data.length} of ${page.meta.count} users${page.meta.hasnext ? ', more on the next page' : ''}\n`);
      return 0;
    }
    case 'import': {
      const [file] = rest;
      if (!file) return usage(err, 'import needs FILE');
      const type = values.type === 'hash' ? 'hash' : 'plain';
      const bar = new SingleBar(
        { stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000, format: 'importing [{bar}] {percentage}% | {value}/{total} users' },
        Presets.shades_classic,
      );
      let started = false;
      const result = await users.import(readFileSync(file), formatFromFilename(file), type, (done, total) => {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(done);
      });
      if (started) bar.stop();
      out.write(`${JSON.stringify(result)}\n`);
      return 0;
    }
    default:
      return usage(err, `unknown users command "${action}"`);
  }
}

function usage(err: NodeJS.WritableStream, message: string): number {
  err.write(`gatehouse: ${message}\n\n${USERS_HELP}`);
  return 2;
}
