import { SourceRegistry } from '../source.js';
import { builtInDatabaseSource } from './built_in_database/index.js';
import { fileSource } from './file/index.js';

/**
 * The authorization source types Gatehouse has, one `register` line each. A new source
 * type (mysql, redis, http, ...) is a folder and a line here.
 */
export function authorizationSources(): SourceRegistry {
  return new SourceRegistry().register(fileSource).register(builtInDatabaseSource);
}
