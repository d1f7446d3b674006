import type { ConfigCheck } from './config/load.js';

/** The checks backends contribute to config validation (authenticator blocks, sources). */
export function configChecks(): ConfigCheck[] {
  return [];
}
