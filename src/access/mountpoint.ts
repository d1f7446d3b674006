/**
 * Applying a rendered mountpoint (§5.2) to what a client sends: topics get it in front; a
 * subscription's filter gets it after a shared-subscription prefix, `$share/g/t` →
 * `$share/g/<mp>t` and `$queue/t` → `$queue/<mp>t`, so the group stays the client's choice.
 */
export function mountFilter(mountpoint: string, filter: string): string {
  if (filter.startsWith('$share/')) {
    const slash = filter.indexOf('/', 7);
    if (slash > 0) return filter.slice(0, slash + 1) + mountpoint + filter.slice(slash + 1);
  }
  if (filter.startsWith('$queue/')) return '$queue/' + mountpoint + filter.slice(7);
  return mountpoint + filter;
}
