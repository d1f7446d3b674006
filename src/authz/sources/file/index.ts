import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { RuleList } from '../../rule.js';
import type { AuthzSource, AuthzSourceType, SourceAnswer, SourceContext, SourceTrace } from '../../source.js';
import type { AuthzClient, AuthzRequest } from '../../types.js';
import { AclFileError, compileAclFile } from './acl-conf.js';

/** `{type = file, enable, path}` (§8.6): rules from an acl.conf. */
export const FileSourceSchema = Type.Object(
  {
    type: Type.Literal('file'),
    enable: Type.Boolean({ default: true }),
    path: Type.String({ minLength: 1, expected: 'the path of an acl.conf file' }),
  },
  { additionalProperties: false },
);

/**
 * The file's path: a leading `${VAR}` is the environment variable (EMQX's
 * `${EMQX_ETC_DIR}/acl.conf`; EMQX_ETC_DIR is `etc` when unset), then relative to `baseDir`.
 */
export function aclFilePath(path: string, baseDir: string, env: Record<string, string | undefined> = process.env): string {
  const m = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(path);
  let expanded = path;
  if (m) {
    const value = env[m[1]!] ?? (m[1] === 'EMQX_ETC_DIR' ? 'etc' : undefined);
    if (value === undefined) throw new Error(`${path}: environment variable ${m[1]} is not set`);
    expanded = value + path.slice(m[0].length);
  }
  return resolve(baseDir, expanded);
}

interface LoadedFile {
  file: string;
  rules: RuleList;
  warnings: string[];
}

/** Reads and compiles the file; the error names the file, and the line and column of a mistake. */
function load(config: Record<string, unknown>, baseDir: string): LoadedFile {
  const file = aclFilePath(String(config['path']), baseDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const name = relative(baseDir, file).startsWith('..') ? file : relative(baseDir, file);
  try {
    const { rules, warnings } = compileAclFile(text, name);
    return { file, rules: new RuleList(rules), warnings };
  } catch (err) {
    if (err instanceof AclFileError) throw new Error(`${file}: ${err.message}`);
    throw err;
  }
}

export const fileSource: AuthzSourceType = {
  type: 'file',
  schema: FileSourceSchema,
  validate(config, ctx) {
    try {
      load(config, ctx.baseDir);
      return [];
    } catch (err) {
      return [{ field: 'path', message: (err as Error).message }];
    }
  },
  async create(config, ctx) {
    return new FileSource(load(config, ctx.baseDir), ctx);
  },
};

/** Rules compiled once, answered from memory: first match wins, none → nomatch (§8.6). */
class FileSource implements AuthzSource {
  constructor(
    private loaded: LoadedFile,
    private readonly ctx: SourceContext,
  ) {
    logWarnings(ctx.logger, loaded);
  }

  authorize(client: AuthzClient, request: AuthzRequest, trace?: SourceTrace): SourceAnswer {
    const rule = this.loaded.rules.firstMatch(client, request);
    if (trace && !rule) trace.detail = `none of the ${this.loaded.rules.rules.length} rules of ${this.loaded.file} matched`;
    return rule ?? 'nomatch';
  }

  async update(config: Record<string, unknown>): Promise<void> {
    const loaded = load(config, this.ctx.baseDir);
    this.loaded = loaded;
    logWarnings(this.ctx.logger, loaded);
    this.ctx.rulesChanged();
  }

  status(): 'connected' {
    return 'connected';
  }

  async destroy(): Promise<void> {}
}

function logWarnings(logger: Logger, loaded: LoadedFile): void {
  for (const warning of loaded.warnings) logger.warn({ source: 'file', file: loaded.file }, `acl.conf: ${warning}`);
  logger.info({ source: 'file', file: loaded.file, rules: loaded.rules.rules.length }, 'authorization rules loaded');
}
