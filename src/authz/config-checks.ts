// The authorization section's check (§8.3): each source block against its type's fragment and
// checks (an acl.conf that does not parse is named with its line and column), one source per
// type, and the cache's excludes as topic filters.

import type { ConfigCheck, ConfigProblem } from '../config/load.js';
import type { SourceRegistry } from './source.js';
import { TopicRule } from './topic.js';

/** Paths resolve against the working directory, as at start. */
export function authorizationChecks(sources: SourceRegistry): ConfigCheck {
  return (config): ConfigProblem[] => {
    const problems = sources.problems('authorization.sources', config.authorization.sources, { baseDir: process.cwd(), from: 'config' });
    config.authorization.cache.excludes.forEach((filter, i) => {
      try {
        TopicRule.compile(filter);
      } catch (err) {
        problems.push({ path: `authorization.cache.excludes.${i}`, message: (err as Error).message });
      }
    });
    return problems;
  };
}
