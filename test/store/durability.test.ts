import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { BuiltInStore, type NewUser } from '../../src/store/index.js';

const WRITER = fileURLToPath(new URL('./durability-writer.ts', import.meta.url));
const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'gatehouse-store-durability-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

interface WriterRun {
  /** User ids the child printed as acknowledged (complete lines only). */
  acked: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the writer; if killAfterMs is set, SIGKILL it that long after it reports ready. */
function runWriter(args: string[], killAfterMs?: number, onReady?: () => void): Promise<WriterRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let ready = false;
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!ready && out.includes('ready\n')) {
        ready = true;
        onReady?.();
        if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      const lines = out.split('\n');
      lines.pop(); // an incomplete last line was not acknowledged
      resolve({ acked: lines.filter((l) => l !== 'ready'), code, signal, stderr: err });
    });
  });
}

describe('durability and multi-process access', () => {
  test('every acknowledged insert survives SIGKILL of the writing process', async () => {
    const dir = join(root, 'kill');
    const run = await runWriter([dir, 'dur'], 300);
    assert.equal(run.signal, 'SIGKILL', `writer ended on its own: code ${run.code} ${run.stderr}`);
    assert.ok(run.acked.length > 0, `writer acknowledged nothing: ${run.stderr}`);
    console.log(`store: writer acknowledged ${run.acked.length} users before SIGKILL`);
    const store = BuiltInStore.open(dir);
    try {
      const missing = run.acked.filter((id) => store.users.get('dur', id) === undefined);
      assert.deepEqual(missing, []);
      // Nothing beyond what could have been in flight: at most one unacknowledged extra row.
      const count = store.users.count('dur');
      assert.ok(count === run.acked.length || count === run.acked.length + 1, `count ${count} vs acked ${run.acked.length}`);
      assert.equal(store.users.get('dur', run.acked.at(-1)!)?.salt, `salt-${run.acked.length - 1}`);
    } finally {
      store.close();
    }
  });

  test('a second process (CLI) and this one (broker) write the same file at once without SQLITE_BUSY', async () => {
    const dir = join(root, 'concurrent');
    const broker = BuiltInStore.open(dir);
    try {
      let stop = false;
      let written = 0;
      let failure: unknown;
      // A broker writes now and then (REST user management), not in a tight loop:
      // one insert per timer tick, an import every 10th tick.
      const loop = (): void => {
        if (stop) return;
        try {
          const u: NewUser = { user_id: `b-${written}`, password_hash: 'h', salt: '', is_superuser: false };
          assert.equal(broker.users.insert('broker', u), 'ok');
          written++;
          if (written % 10 === 0) {
            broker.users.importRecords(
              'broker-import',
              [{ user_id: `i-${written}`, password_hash: 'h', salt: '', is_superuser: false }],
              'no_override',
            );
          }
        } catch (e) {
          failure = e;
          return;
        }
        setTimeout(loop, 1);
      };
      const run = await runWriter([dir, 'cli', '1000'], undefined, loop);
      stop = true;
      assert.equal(failure, undefined, `broker write failed: ${String(failure)}`);
      assert.equal(run.code, 0, `CLI writer failed: ${run.stderr}`);
      assert.equal(run.acked.length, 1000);
      assert.equal(broker.users.count('cli'), 1000);
      assert.equal(broker.users.count('broker'), written);
      assert.ok(written > 0);
      console.log(`store: broker wrote ${written} users while the CLI process wrote 1000`);
    } finally {
      broker.close();
    }
  });
});
