/**
 * Constant-time comparisons. Only the lengths of the two inputs can influence
 * timing; when they differ the inputs are still walked once so the answer
 * does not come back measurably faster.
 */
import { timingSafeEqual } from 'node:crypto';

/** Byte-exact comparison (plain passwords). */
export function equalBytes(expected: Buffer, actual: Buffer): boolean {
  if (expected.length !== actual.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, actual);
}

/** ASCII-only lower-casing, byte by byte, so the length never changes. */
function asciiLower(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += 1) {
    const b = bytes[i] as number;
    bytes[i] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
  }
  return bytes;
}

/**
 * Compare a freshly computed lowercase hex digest with a stored one, ignoring
 * the case of the stored value (EMQX accepts uppercase hex in a database).
 */
export function equalHexIgnoringCase(computedLowerHex: string, storedHex: string): boolean {
  return equalBytes(Buffer.from(computedLowerHex, 'latin1'), asciiLower(storedHex));
}
