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

/**
 * The filter as the client sent it, from the filter `mountFilter` made; undefined when
 * `mounted` does not carry `mountpoint` where `mountFilter` puts it.
 */
export function unmountFilter(mountpoint: string, mounted: string): string | undefined {
  if (!mountpoint) return mounted;
  let prefix = '';
  if (mounted.startsWith('$share/')) {
    const slash = mounted.indexOf('/', 7);
    if (slash > 0) prefix = mounted.slice(0, slash + 1);
  } else if (mounted.startsWith('$queue/')) {
    prefix = '$queue/';
  }
  if (!mounted.startsWith(mountpoint, prefix.length)) return undefined;
  return prefix + mounted.slice(prefix.length + mountpoint.length);
}
