/**
 * A small RFC 4180 reader for user import files.
 *
 * - Fields are separated by `,`; records by CRLF, LF or a lone CR.
 * - A field may be quoted with `"`; inside quotes `""` is a quote and commas,
 *   spaces and line breaks are data.
 * - Leniency for EMQX-style files: spaces/tabs around a field outside quotes are
 *   dropped (so `alice, secret, true` reads like EMQX reads it), and a `"` in the
 *   middle of an unquoted field is kept as a literal character.
 * - Records that are completely empty (blank lines) are skipped; a leading UTF-8
 *   BOM is ignored.
 */

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line on which the record starts. */
  line: number;
}

export class CsvSyntaxError extends Error {
  override readonly name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const isBlank = (c: string): boolean => c === ' ' || c === '\t';

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    let sawQuoted = false;
    // One record.
    for (;;) {
      while (i < n && isBlank(text[i]!)) i++;
      let value: string;
      if (text[i] === '"') {
        sawQuoted = true;
        const openLine = line;
        i++;
        let buf = '';
        for (;;) {
          if (i >= n) throw new CsvSyntaxError(openLine, 'quoted field is not closed');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              buf += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          buf += c;
          i++;
        }
        while (i < n && isBlank(text[i]!)) i++;
        if (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          throw new CsvSyntaxError(line, 'unexpected character after a closing quote');
        }
        value = buf;
      } else {
        const from = i;
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') i++;
        let to = i;
        while (to > from && isBlank(text[to - 1]!)) to--;
        value = text.slice(from, to);
      }
      fields.push(value);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      // End of record: line break or end of input.
      if (i < n) {
        if (text[i] === '\r' && text[i + 1] === '\n') i++;
        i++;
        line++;
      }
      break;
    }
    const blank = !sawQuoted && fields.length === 1 && fields[0] === '';
    if (!blank) records.push({ fields, line: recordLine });
  }
  return records;
}
