#!/usr/bin/env node
// Entry point of the `gatehouse` command: runs the compiled CLI (npm run build).
import { main } from '../dist/src/cli.js';

const code = await main(process.argv.slice(2));
// Let pino flush, then leave with the command's status.
setImmediate(() => process.exit(code));
