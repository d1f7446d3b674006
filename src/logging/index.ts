import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

import { BUILT_IN_SECRETS, MASK, type SecretFields } from '../secrets.js';

export type { Logger };

/** EMQX log levels mapped onto pino's. */
const LEVELS: Record<string, LevelWithSilent> = {
  all: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
  alert: 'fatal',
  emergency: 'fatal',
  none: 'silent',
};

export interface LogSettings {
  enable: boolean;
  level: string;
  formatter?: 'text' | 'json';
}

/**
 * JSON lines by default; readable text when stdout is a terminal (or formatter = text).
 * `destination` lets tests capture the output. `secrets` are the node's secret field names
 * (the built-in list and every registered backend's), masked at the top of a log object
 * and two levels down.
 */
export function createLogger(settings: LogSettings, destination?: DestinationStream, secrets: SecretFields = BUILT_IN_SECRETS): Logger {
  const level = settings.enable ? (LEVELS[settings.level] ?? 'info') : 'silent';
  const redact = {
    paths: secrets.logRedactPaths(),
    censor: MASK,
  };
  const text = settings.formatter === 'text' || (settings.formatter === undefined && process.stdout.isTTY === true);
  if (destination) return pino({ level, redact, base: undefined }, destination);
  if (text) {
    return pino({
      level,
      redact,
      base: undefined,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, redact, base: undefined });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
