// Child process for durability.test.ts: writes users to the store at argv[2]
// in group argv[3], printing each user id to stdout only after insert() returned.
// Runs until killed, or until argv[4] users were written when given.
import { writeSync } from 'node:fs';
import { BuiltInStore } from '../../src/store/index.js';

const [dataDir, group = 'durability', max] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write('usage: durability-writer.ts DATA_DIR [GROUP] [MAX]\n');
  process.exit(2);
}
/** Blocking write of a whole line, waiting out EAGAIN when the parent is slow to read the pipe. */
function writeLine(text: string): void {
  const bytes = Buffer.from(`${text}\n`);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

const limit = max === undefined ? Infinity : Number(max);
const store = BuiltInStore.open(dataDir);
writeLine('ready');
for (let i = 0; i < limit; i++) {
  const id = `${group}-${i}`;
  const result = store.users.insert(group, { user_id: id, password_hash: `hash-${i}`, salt: `salt-${i}`, is_superuser: false });
  if (result !== 'ok') throw new Error(`insert ${id}: ${result}`);
  writeLine(id); // synchronous: the parent sees exactly what was acknowledged
}
store.close();
