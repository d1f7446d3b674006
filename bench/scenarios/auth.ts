import { gatehouse } from '../brokers/setups.js';
import type { Scenario } from '../harness/scenario.js';
import { connectRate, usersNeeded } from '../workloads/connect-rate.js';
import { loginStorm, stormUsersNeeded } from '../workloads/login-storm.js';

/**
 * Issue 3: what password authentication costs. Every client logs in as a seeded
 * `user-<i>` / `pass-<i>` (the broker child creates the users in the chain's
 * built-in database before it reports ready); the no-auth baseline gets the same
 * CONNECTs and ignores the credentials, so the difference is the authenticator.
 */

const chain = (algorithm: string) => `authentication = [{
  mechanism = password_based
  backend = built_in_database
  password_hash_algorithm ${algorithm}
}]`;
const SHA256 = chain('{ name = sha256, salt_position = suffix }');
const BCRYPT = chain('{ name = bcrypt, salt_rounds = 10 }');

const sha256Rate = { credentials: true };
const bcryptRate = { credentials: true, clients: 200, quickClients: 50, warmup: 10, timeoutMs: 60_000 };
const storm = {};

export const scenarios: Scenario[] = [
  {
    name: 'connect-rate-sha256',
    description: 'connect rate, built-in database + salted sha256 vs no authentication',
    baseline: gatehouse('no-auth'),
    candidate: gatehouse('sha256', SHA256, { seed: { chain: 'mqtt:global', users: usersNeeded(sha256Rate) } }),
    workload: connectRate(sha256Rate),
    target: { ratio: 0.85 },
  },
  {
    name: 'connect-rate-bcrypt',
    description: 'connect rate, built-in database + bcrypt cost 10 (report only)',
    setup: gatehouse('bcrypt', BCRYPT, { seed: { chain: 'mqtt:global', users: usersNeeded(bcryptRate) } }),
    workload: connectRate(bcryptRate),
  },
  {
    name: 'bcrypt-login-storm',
    description: 'publish RTT p99 of 100 connected clients while bcrypt-10 logins arrive at once',
    // The 5 s default authenticator timeout would turn most of a 500-login bcrypt storm into
    // refusals on a small machine; the storm is about what the logins do to everyone else.
    setup: gatehouse('bcrypt', `${BCRYPT}\nauthentication_settings.timeout = 120s`, { seed: { chain: 'mqtt:global', users: stormUsersNeeded(storm) } }),
    workload: loginStorm(storm),
    target: { value: 50 },
  },
];
