import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { writeFileAtomically } from '../../../config/overrides.js';
import { RuleList } from '../../rule.js';
import { SourceInputError, type AuthzSource, type AuthzSourceType, type SourceAnswer, type SourceApiForm, type SourceContext, type SourceTrace } from '../../source.js';
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

/**
 * The API's form (§9.1): `rules`, the acl.conf text, stored as `<data_dir>/authz/acl.conf`
 * (EMQX's place) with the source's `path` pointing at it; or `path`, a file of the node's.
 * Answers show both.
 */
export const FileSourceApiSchema = Type.Object(
  {
    type: Type.Literal('file'),
    enable: Type.Boolean({ default: true }),
    rules: Type.Optional(Type.String({ description: "the acl.conf text (§8.6); stored as <data_dir>/authz/acl.conf, the source's path" })),
    path: Type.Optional(Type.String({ minLength: 1, description: 'an acl.conf file of the node, instead of rules' })),
  },
  { additionalProperties: false },
);

/** Where rules sent through the API are kept. */
export function storedAclPath(dataDir: string): string {
  return join(dataDir, 'authz', 'acl.conf');
}

const fileApiForm: SourceApiForm = {
  schema: FileSourceApiSchema,
  toConfig(body, files) {
    const base = { type: 'file', enable: body['enable'] !== false };
    const rules = body['rules'];
    const file = storedAclPath(files.dataDir);
    if (typeof rules !== 'string') {
      if (typeof body['path'] !== 'string') throw new SourceInputError('rules', 'is required (the acl.conf text), or path');
      return { config: { ...base, path: body['path'] }, undo: () => undefined };
    }
    // The same path sent back with the rules (a GET's answer PUT back) is fine; another is ambiguous.
    if (body['path'] !== undefined && aclFilePath(String(body['path']), files.baseDir) !== file) {
      throw new SourceInputError('path', `give rules or path, not both (rules are stored as ${file})`);
    }
    try {
      compileAclFile(rules, 'acl.conf');
    } catch (err) {
      if (err instanceof AclFileError) throw new SourceInputError('rules', err.message);
      throw err;
    }
    let previous: string | undefined;
    try {
      previous = readFileSync(file, 'utf8');
    } catch {
      previous = undefined;
    }
    mkdirSync(join(files.dataDir, 'authz'), { recursive: true, mode: 0o700 });
    writeFileAtomically(file, rules);
    return {
      config: { ...base, path: file },
      undo: () => (previous === undefined ? rmSync(file, { force: true }) : writeFileAtomically(file, previous)),
    };
  },
  view(config, files) {
    const file = aclFilePath(String(config['path']), files.baseDir);
    return { ...config, rules: readFileSync(file, 'utf8') };
  },
};

export const fileSource: AuthzSourceType = {
  type: 'file',
  schema: FileSourceSchema,
  api: fileApiForm,
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
