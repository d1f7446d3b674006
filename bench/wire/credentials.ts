/** The users the broker child seeds and the load generators log in as: `user-<i>` / `pass-<i>`. */

export function userName(i: number): string {
  return `user-${i}`;
}

export function userPassword(i: number): string {
  return `pass-${i}`;
}
