import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

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

/** Keys whose values are never written, wherever they appear in a log object. */
export const REDACTED_KEYS = ['password', 'passcode', 'secret', 'password_hash', 'salt', 'token', 'authorization', 'keyfile_password'];

export interface LogSettings {
  enable: boolean;
  level: string;
  formatter?: 'text' | 'json';
}

/**
 * JSON lines by default; readable text when stdout is a terminal (or formatter = text).
 * `destination` lets tests capture the output.
 */
export function createLogger(settings: LogSettings, destination?: DestinationStream): Logger {
  const level = settings.enable ? (LEVELS[settings.level] ?? 'info') : 'silent';
  const redact = {
    paths: REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
    censor: '******',
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
