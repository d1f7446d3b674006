import { gatehouse } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { connectRate } from '../workloads/connect-rate.js';
import { loginStorm, stormUsersNeeded } from '../workloads/login-storm.js';

/**
 * Issue 15 point 7: what the admission protections cost and what they buy.
 *
 * - The banned list is checked on every CONNECT before authentication: 10 000 entries of
 *   every kind (regular expressions and CIDRs included, `brokers/banned-seed.ts`) against an
 *   empty list, same anonymous Gatehouse otherwise. Run with `connect-rate` (bare aedes →
 *   Gatehouse) for the comparison with aedes in the same run.
 * - A failed-login storm: 500 wrong bcrypt logins at once from 127.0.0.3 while 100 clients
 *   publish and time their echoes, and a correct login from 127.0.0.2 starts 0.2 s in. The
 *   fair hashing queue (per-address round robin, 32 waiting per address) is what keeps the
 *   correct login out of the storm's queue.
 */

const BCRYPT = `authentication = [{
  mechanism = password_based
  backend = built_in_database
  password_hash_algorithm { name = bcrypt, salt_rounds = 10 }
}]
authentication_settings.timeout = 120s`;

const storm = { stormFrom: '127.0.0.3', stormWrongPassword: true, probe: { from: '127.0.0.2', afterMs: 200 } } as const;
const stormSetup = gatehouse('bcrypt', BCRYPT, { seed: { chain: 'mqtt:global', users: stormUsersNeeded(storm) } });

export const scenarios: Scenario[] = [
  {
    name: 'connect-rate-banned',
    description: 'connect rate with 10 000 banned entries (every kind, expressions and CIDRs) vs an empty banned list',
    baseline: gatehouse('banned-empty'),
    candidate: gatehouse('banned-10k', '', { banned: { entries: 10_000 } }),
    workload: connectRate(),
    target: { ratio: 0.97 },
  },
  {
    name: 'bcrypt-storm-fair-login',
    description: 'a correct bcrypt login from 127.0.0.2 while 500 wrong ones from 127.0.0.3 arrive at once',
    setup: stormSetup,
    workload: loginStorm({ ...storm, value: 'probe' }),
    target: { value: 1000 },
  },
  {
    name: 'bcrypt-storm-fair-rtt',
    description: 'publish RTT p99 of 100 connected clients while 500 wrong bcrypt logins from 127.0.0.3 arrive at once',
    setup: stormSetup,
    workload: loginStorm(storm),
    target: { value: 50 },
  },
];
