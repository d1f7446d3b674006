import { parseArgs } from 'node:util';
import { loadConfigFile, type ConfigCheck } from '../config/load.js';
import { parseDuration } from '../config/hocon/units.js';
import { NODE_OPTIONS, withNodeStore } from './node-options.js';
import { BanInputError, viewOf, type BanRequest } from '../access/banned/entry.js';
import { BannedList, BannedQueryError, DEFAULT_BANNED_POLL_MS, type BannedQuery } from '../access/banned/list.js';

export const BANNED_HELP = `gatehouse banned: the banned list (EMQX's /banned), node running or stopped

  gatehouse banned list [--page N] [--limit N] [FILTER]
  gatehouse banned add AS WHO [--reason TEXT] [--by NAME] [--until TIME | --for DURATION]
  gatehouse banned delete AS WHO
  gatehouse banned clear

AS is clientid, username, peerhost, clientid_re, username_re or peerhost_net (a CIDR).
TIME is seconds since the epoch, an RFC 3339 date-time or infinity (the default);
DURATION is like 10m or 1h. --by defaults to "cli".
FILTER (one at most): --clientid X, --username X, --peerhost X (exact), or
--like-clientid RE, --like-username RE, --like-peerhost RE, --like-peerhost-net RE.

Options for every command:
  --config FILE     the node's configuration (default etc/gatehouse.conf): gives the data directory
  --data-dir DIR    override node.data_dir
A running node picks a change up within ${DEFAULT_BANNED_POLL_MS / 1000} s; clients an added entry matches are disconnected.
`;

const FILTERS = ['clientid', 'username', 'peerhost', 'like-clientid', 'like-username', 'like-peerhost', 'like-peerhost-net'] as const;

/** Runs `gatehouse banned ...`; returns the exit code. */
export async function bannedCommand(args: string[], checks: ConfigCheck[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...NODE_OPTIONS,
      page: { type: 'string', default: '1' },
      limit: { type: 'string', default: '100' },
      reason: { type: 'string' },
      by: { type: 'string', default: 'cli' },
      until: { type: 'string' },
      for: { type: 'string' },
      ...Object.fromEntries(FILTERS.map((f) => [f, { type: 'string' as const }])),
    },
  });
  const [action, ...rest] = positionals;
  if (values.help || !action) {
    out.write(BANNED_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfigFile(values.config!, { checks });
  return withNodeStore(values['data-dir'] ?? config.node.data_dir, err, [BanInputError, BannedQueryError], (store) => {
    const list = new BannedList({ records: store.banned });
    switch (action) {
      case 'list': {
        const page = Number(values.page);
        const limit = Number(values.limit);
        if (!Number.isSafeInteger(page) || page < 1 || !Number.isSafeInteger(limit) || limit < 1) return usage(err, '--page and --limit must be integers >= 1');
        list.expire();
        const query: BannedQuery = { page, limit };
        for (const f of FILTERS) {
          const value = (values as Record<string, unknown>)[f];
          if (typeof value === 'string') (query as unknown as Record<string, string>)[f.replace(/-/g, '_')] = value;
        }
        const result = list.page(query);
        for (const e of result.data.map(viewOf)) out.write(`${e.as}\t${e.who}\tby ${e.by}\tat ${e.at}\tuntil ${e.until}${e.reason ? `\t${e.reason}` : ''}\n`);
        out.write(`# page ${result.meta.page}, ${result.data.length} of ${result.meta.count} entries${result.meta.hasnext ? ', more on the next page' : ''}\n`);
        return 0;
      }
      case 'add': {
        const [as, who] = rest;
        if (!as || who === undefined) return usage(err, 'add needs AS and WHO');
        if (values.until !== undefined && values.for !== undefined) return usage(err, 'give --until or --for, not both');
        const request: BanRequest = { as, who, ...(values.reason !== undefined ? { reason: values.reason } : {}) };
        if (values.until !== undefined) request.until = values.until;
        if (values.for !== undefined) request.until = Math.floor(Date.now() / 1000) + Math.max(1, Math.ceil(parseDuration(values.for) / 1000));
        const result = list.add(request, { by: values.by! });
        if (!result.added) {
          err.write(`gatehouse: already banned: ${JSON.stringify(viewOf(result.existing))}\n`);
          return 1;
        }
        const e = viewOf(result.entry);
        out.write(`banned ${e.as} ${e.who} until ${e.until}\n`);
        return 0;
      }
      case 'delete': {
        const [as, who] = rest;
        if (!as || who === undefined) return usage(err, 'delete needs AS and WHO');
        if (!list.delete(as, who)) {
          err.write(`gatehouse: ${as}: ${who} not found\n`);
          return 1;
        }
        out.write(`deleted ${as} ${who}\n`);
        return 0;
      }
      case 'clear':
        out.write(`cleared ${list.clear()} entries\n`);
        return 0;
      default:
        return usage(err, `unknown banned command "${action}"`);
    }
  });
}

function usage(err: NodeJS.WritableStream, message: string): number {
  err.write(`gatehouse: ${message}\n\n${BANNED_HELP}`);
  return 2;
}
