import { hashPassword, verifyPassword, type PasswordHashAlgorithm } from '../../password/index.js';
import {
  parseUserFile,
  toImportRecords,
  type BuiltInStore,
  type ImportMode,
  type ImportRecord,
  type ImportResult,
  type RawUser,
} from '../../../store/index.js';

const BATCH = 5000;

/**
 * Parses a users file, hashes `plain` passwords off the event loop in batches
 * (reporting progress), then writes everything in one transaction: a malformed
 * file imports nothing and its error names the line.
 *
 * A plain row whose user already exists with that very password and superuser
 * flag keeps the stored hash, so it counts as `skipped` rather than as a change
 * (a fresh salt would otherwise make every re-import of a bootstrap file look different).
 */
export async function importUsers(
  store: BuiltInStore,
  group: string,
  algorithm: PasswordHashAlgorithm,
  content: string | Buffer,
  format: 'csv' | 'json',
  type: 'plain' | 'hash',
  mode: ImportMode,
  onProgress?: (done: number, total: number) => void,
): Promise<ImportResult> {
  const rows = parseUserFile(content, format, type);
  const records: ImportRecord[] = [];
  const hasher = (password: string) => hashPassword(algorithm, password);
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const unchanged = type === 'plain' ? await unchangedUsers(store, group, algorithm, batch) : new Map<number, ImportRecord>();
    const toHash = batch.filter((_, j) => !unchanged.has(j));
    const hashed = await toImportRecords(toHash, hasher, 8);
    let k = 0;
    for (let j = 0; j < batch.length; j++) records.push(unchanged.get(j) ?? hashed[k++]!);
    onProgress?.(Math.min(i + BATCH, rows.length), rows.length);
  }
  return store.users.importRecords(group, records, mode);
}

async function unchangedUsers(store: BuiltInStore, group: string, algorithm: PasswordHashAlgorithm, rows: RawUser[]): Promise<Map<number, ImportRecord>> {
  const found = new Map<number, ImportRecord>();
  await Promise.all(
    rows.map(async (row, j) => {
      if (row.password === undefined) return;
      const existing = store.users.get(group, row.user_id);
      if (!existing || existing.is_superuser !== row.is_superuser) return;
      if (await verifyPassword(algorithm, row.password, existing).catch(() => false)) {
        found.set(j, { user_id: existing.user_id, password_hash: existing.password_hash, salt: existing.salt, is_superuser: existing.is_superuser });
      }
    }),
  );
  return found;
}
