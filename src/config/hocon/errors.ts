/** A place in a HOCON source text (1-based line and column). */
export interface HoconPosition {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** Every parse, include or substitution failure. The message reads `file:line:col: reason`. */
export class HoconError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly reason: string;

  constructor(pos: HoconPosition, reason: string) {
    super(`${pos.file}:${pos.line}:${pos.col}: ${reason}`);
    this.name = 'HoconError';
    this.file = pos.file;
    this.line = pos.line;
    this.col = pos.col;
    this.reason = reason;
  }
}
