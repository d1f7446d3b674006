import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword, parsePasswordHashAlgorithm } from '../../src/authn/password/index.js';
import type { GatehouseNode } from '../../src/node/node.js';
import { userName, userPassword } from '../wire/credentials.js';
import type { UserSeed } from './types.js';

/**
 * Creates `user-<i>` / `pass-<i>` in a chain's built-in database before a run.
 * Hashing 600 bcrypt passwords takes ~25 s on two cores, and every measurement
 * starts a fresh broker, so the hashed users file (user_id, password_hash, salt)
 * is cached per algorithm and count and imported as `hash`: the stored records
 * are what `import(…, 'plain')` would have produced, only computed once.
 */

export class SeedError extends Error {
  constructor(reason: string) {
    super(`cannot seed users: ${reason}`);
    this.name = 'SeedError';
  }
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

async function hashedUsersCsv(algorithmConfig: unknown, count: number): Promise<string> {
  const algorithm = parsePasswordHashAlgorithm(algorithmConfig, { variant: 'built_in_database', source: 'config' });
  const lines = ['user_id,password_hash,salt'];
  const BATCH = 64; // the hash limiter bounds the expensive algorithms; this only bounds pending promises
  for (let start = 0; start < count; start += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => start + k);
    const hashed = await Promise.all(ids.map((i) => hashPassword(algorithm, userPassword(i))));
    hashed.forEach((h, k) => {
      lines.push([userName(ids[k]!), h.password_hash, h.salt].map(csvField).join(','));
    });
  }
  return `${lines.join('\n')}\n`;
}

export async function seedUsers(node: GatehouseNode, seed: UserSeed, cacheDir: string): Promise<void> {
  const entry = node.authn.chain(seed.chain)?.entries[0];
  if (!entry) throw new SeedError(`chain ${seed.chain} has no authenticator`);
  const users = entry.authenticator.users;
  if (!users) throw new SeedError(`the first authenticator of ${seed.chain} does not store users`);
  const algorithmConfig = entry.config['password_hash_algorithm'] ?? { name: 'sha256' };
  const key = createHash('sha256').update(JSON.stringify(algorithmConfig)).digest('hex').slice(0, 16);
  const file = join(cacheDir, `users-${key}-${seed.users}.csv`);
  let csv: string;
  if (existsSync(file)) csv = readFileSync(file, 'utf8');
  else {
    csv = await hashedUsersCsv(algorithmConfig, seed.users);
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, csv);
    renameSync(tmp, file);
  }
  const summary = await users.import(csv, 'csv', 'hash');
  if (summary.success + summary.override !== seed.users) {
    throw new SeedError(`imported ${summary.success + summary.override} of ${seed.users} users (${summary.failed} failed)`);
  }
}
