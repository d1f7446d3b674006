/**
 * Management API benchmark (issue 6 point 9): GET /authentication/{id}/users over
 * 100 000 users (p50/p99 per page) and the user creation rate of POST …/users.
 * Standalone: `node --import tsx bench/api-users.ts [users]`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfigText } from '../src/config/load.js';
import { nodeConfigChecks as configChecks, startGatehouse } from '../src/main.js';

const TOTAL = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-api-'));
writeFileSync(join(dir, 'keys'), 'bench:bench-secret\n');
const config = loadConfigText(
  [
    `node.data_dir = "${dir}"`,
    'listeners.tcp.default.bind = "127.0.0.1:0"',
    'listeners.ws.default.enable = false',
    'dashboard.listeners.http.bind = "127.0.0.1:0"',
    `api_key.bootstrap_file = "${join(dir, 'keys')}"`,
    'authentication = [{ mechanism = password_based, backend = built_in_database, password_hash_algorithm { name = sha256, salt_position = suffix } }]',
  ].join('\n'),
  { checks: configChecks() },
);
const node = await startGatehouse(config, { logger: pino({ level: 'error' }) });
const base = `http://127.0.0.1:${node.api!.address.port}/api/v5/authentication/password_based%3Abuilt_in_database`;
const headers = { authorization: 'Basic ' + Buffer.from('bench:bench-secret').toString('base64'), 'content-type': 'application/json' };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

try {
  // Creation rate through the API (one request per user, 16 in flight).
  const CREATE = 5000;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < CREATE) {
        const i = next++;
        const res = await fetch(`${base}/users`, { method: 'POST', headers, body: JSON.stringify({ user_id: `api-${i}`, password: `pw-${i}` }) });
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );
  const createSeconds = (performance.now() - t0) / 1000;
  console.log(`POST users: ${CREATE} in ${createSeconds.toFixed(2)} s = ${Math.round(CREATE / createSeconds)} users/s (sha256, 16 concurrent)`);

  // Fill up to TOTAL with one import (JSON body).
  const rest = Array.from({ length: TOTAL - CREATE }, (_, i) => ({ user_id: `imp-${i}`, password: `pw-${i}` }));
  const t1 = performance.now();
  const imp = await fetch(`${base}/import_users?type=plain`, { method: 'POST', headers, body: JSON.stringify(rest) });
  if (imp.status !== 200) throw new Error(`import: ${imp.status} ${await imp.text()}`);
  console.log(`import_users: ${rest.length} in ${((performance.now() - t1) / 1000).toFixed(2)} s`);

  for (const limit of [100, 1000]) {
    const pages = Math.ceil(TOTAL / limit);
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const page = 1 + Math.floor(Math.random() * pages);
      const s = performance.now();
      const res = await fetch(`${base}/users?page=${page}&limit=${limit}`, { headers });
      const body = (await res.json()) as { data: unknown[]; meta: { count: number } };
      times.push(performance.now() - s);
      if (body.meta.count !== TOTAL) throw new Error(`count ${body.meta.count}`);
    }
    times.sort((a, b) => a - b);
    console.log(`GET users limit=${limit} over ${TOTAL}: p50 ${pct(times, 50).toFixed(2)} ms, p99 ${pct(times, 99).toFixed(2)} ms (300 random pages)`);
  }
  const likeTimes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    await (await fetch(`${base}/users?like_user_id=imp-9999&limit=100`, { headers })).json();
    likeTimes.push(performance.now() - s);
  }
  likeTimes.sort((a, b) => a - b);
  console.log(`GET users like_user_id: p50 ${pct(likeTimes, 50).toFixed(2)} ms, p99 ${pct(likeTimes, 99).toFixed(2)} ms`);
} finally {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}
