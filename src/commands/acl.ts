import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NODE_OPTIONS, withNodeStore } from './node-options.js';
import { loadConfigFile, type ConfigCheck } from '../config/load.js';
import { StoreInputError, type AclKind, type BuiltInStore } from '../store/index.js';
import { AclRuleError, AclRules, DEFAULT_MAX_RULES } from '../authz/sources/built_in_database/index.js';
import { storedRuleText, type StoredRule } from '../authz/rule.js';

export const ACL_HELP = `gatehouse acl: manage the built-in database's authorization rules (node running or stopped)

  gatehouse acl list clients|users [--like TEXT] [--page N] [--limit N]
  gatehouse acl list all | --clientid ID | --username NAME
  gatehouse acl add (--clientid ID | --username NAME | --all) allow|deny publish|subscribe|all TOPIC
                    [--qos 0,1,2] [--retain true|false|all]
  gatehouse acl delete (--clientid ID | --username NAME | --all) [--rule N]
  gatehouse acl import FILE.json      {"users": [{"username": ..., "rules": [...]}],
                                       "clients": [{"clientid": ..., "rules": [...]}], "all": [...]}

Rules are checked in this order for each client: its client id's, its username's, then all;
the first that matches decides (emqx5-auth.md §8.8). TOPIC may be "eq t/#" (exact) and hold
placeholders such as \${username}. add appends a rule; delete removes a record (--all: the
rules for all clients), or with --rule N only its Nth rule; import creates or replaces records.

Options for every command:
  --config FILE     the node's configuration (default etc/gatehouse.conf): gives the data
                    directory and the built_in_database source's max_rules
  --data-dir DIR    override node.data_dir
A running broker sees a change within a second and drops its cached decisions.
`;

interface Who {
  kind: AclKind;
  who: string;
}

/** Runs `gatehouse acl ...`; returns the exit code. */
export async function aclCommand(args: string[], checks: ConfigCheck[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...NODE_OPTIONS,
      clientid: { type: 'string' },
      username: { type: 'string' },
      all: { type: 'boolean' },
      qos: { type: 'string' },
      retain: { type: 'string' },
      rule: { type: 'string' },
      page: { type: 'string', default: '1' },
      limit: { type: 'string', default: '100' },
      like: { type: 'string' },
    },
  });
  const [action, ...rest] = positionals;
  if (values.help || !action) {
    out.write(ACL_HELP);
    return values.help ? 0 : 2;
  }
  const config = loadConfigFile(values.config!, { checks });
  const source: Record<string, unknown> | undefined = config.authorization.sources.find((s) => s.type === 'built_in_database');
  if (!source) {
    err.write(`gatehouse: authorization.sources has no built_in_database source in ${values.config}\n`);
    return 1;
  }
  const maxRules = typeof source['max_rules'] === 'number' ? source['max_rules'] : DEFAULT_MAX_RULES;
  return withNodeStore(values['data-dir'] ?? config.node.data_dir, err, [AclRuleError, StoreInputError], (store) =>
    run(new AclRules(store, () => maxRules), store, action, rest, values, out, err),
  );
}

type Values = Partial<Record<'clientid' | 'username' | 'qos' | 'retain' | 'rule' | 'page' | 'limit' | 'like', string>> & { all?: boolean | undefined };

function run(rules: AclRules, store: BuiltInStore, action: string, rest: string[], values: Values, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  switch (action) {
    case 'list': {
      const [what] = rest;
      if (what === 'clients' || what === 'users') {
        const kind = what === 'clients' ? 'clientid' : 'username';
        const page = rules.list(kind, {
          page: Number(values.page),
          limit: Number(values.limit),
          ...(values.like !== undefined ? { like: values.like } : {}),
        });
        for (const record of page.data) printRules(out, `${kind} ${record.who}`, record.rules);
        out.write(`# page ${page.meta.page}, ${page.data.length} of ${page.meta.count} ${what}${page.meta.hasnext ? ', more on the next page' : ''}\n`);
        return 0;
      }
      const who = what === 'all' ? { kind: 'all' as const, who: '' } : whoOf(values, err);
      if (!who || (what !== undefined && what !== 'all')) return usage(err, 'list takes clients, users, all, --clientid ID or --username NAME');
      printRules(out, label(who), (store.acl.get(who.kind, who.who) ?? []) as StoredRule[]);
      return 0;
    }
    case 'add': {
      const who = whoOf(values, err);
      const [permission, act, topic] = rest;
      if (!who || !permission || !act || topic === undefined) return usage(err, 'add needs --clientid ID, --username NAME or --all, then PERMISSION ACTION TOPIC');
      const rule: Record<string, unknown> = { permission, action: act, topic };
      if (values.qos !== undefined) rule['qos'] = values.qos;
      if (values.retain !== undefined) rule['retain'] = values.retain;
      const all = rules.append(who.kind, who.who, [rule]);
      out.write(`added to ${label(who)}: ${storedRuleText(all[all.length - 1]!)} (${all.length} rules)\n`);
      return 0;
    }
    case 'delete': {
      const who = whoOf(values, err);
      if (!who) return usage(err, 'delete needs --clientid ID, --username NAME or --all');
      if (values.rule !== undefined) {
        const n = Number(values.rule);
        const current = (store.acl.get(who.kind, who.who) ?? []) as StoredRule[];
        if (!Number.isSafeInteger(n) || n < 1 || n > current.length) {
          err.write(`gatehouse: ${label(who)} has no rule ${values.rule} (it has ${current.length})\n`);
          return 1;
        }
        store.acl.put(who.kind, who.who, current.filter((_, i) => i !== n - 1));
        out.write(`deleted rule ${n} of ${label(who)}\n`);
        return 0;
      }
      if (who.kind === 'all') rules.clearAll();
      else rules.delete(who.kind, who.who);
      out.write(`deleted ${label(who)}\n`);
      return 0;
    }
    case 'import': {
      const [file] = rest;
      if (!file) return usage(err, 'import needs FILE.json');
      let content: unknown;
      try {
        content = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        err.write(`gatehouse: ${file}: ${(e as Error).message}\n`);
        return 1;
      }
      const n = rules.import(content);
      out.write(`imported ${n.clients} client records, ${n.users} user records${n.all ? ' and the rules for all' : ''}\n`);
      return 0;
    }
    default:
      return usage(err, `unknown acl command "${action}"`);
  }
}

function whoOf(values: Values, err: NodeJS.WritableStream): Who | undefined {
  const given = [values.clientid !== undefined, values.username !== undefined, values.all === true].filter(Boolean).length;
  if (given > 1) {
    err.write('gatehouse: give one of --clientid, --username and --all\n');
    return undefined;
  }
  if (values.clientid !== undefined) return { kind: 'clientid', who: values.clientid };
  if (values.username !== undefined) return { kind: 'username', who: values.username };
  if (values.all) return { kind: 'all', who: '' };
  return undefined;
}

function label(w: Who): string {
  return w.kind === 'all' ? 'all' : `${w.kind} ${w.who}`;
}

function printRules(out: NodeJS.WritableStream, who: string, rules: readonly StoredRule[]): void {
  if (rules.length === 0) out.write(`${who}\t(no rules)\n`);
  rules.forEach((r, i) => out.write(`${who}\t${i + 1}\t${storedRuleText(r)}\n`));
}

function usage(err: NodeJS.WritableStream, message: string): number {
  err.write(`gatehouse: ${message}\n\n${ACL_HELP}`);
  return 2;
}
