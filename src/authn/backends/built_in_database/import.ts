import { hashPassword, type PasswordHashAlgorithm } from '../../password/index.js';
import { parseUserFile, toImportRecords, type BuiltInStore, type ImportMode, type ImportRecord, type ImportResult } from '../../../store/index.js';

const BATCH = 5000;

/**
 * Parses a users file, hashes `plain` passwords off the event loop in batches
 * (reporting progress), then writes everything in one transaction: a malformed
 * file imports nothing and its error names the line.
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
    records.push(...(await toImportRecords(rows.slice(i, i + BATCH), hasher, 8)));
    onProgress?.(Math.min(i + BATCH, rows.length), rows.length);
  }
  return store.users.importRecords(group, records, mode);
}
