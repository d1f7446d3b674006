import { canonicalWho, type BanKind, type BanRequest } from '../../src/access/banned/entry.js';
import type { BannedList } from '../../src/access/banned/list.js';

/** Banned entries the broker child adds before it reports ready (issue 15 point 7). */
export interface BannedSeed {
  entries: number;
}

/**
 * A mixed banned list of `entries` entries, none of which names the bench's clients
 * (`conn-<n>`, `warm-<n>`, no username, 127.0.0.1): exact client ids 40 %, usernames 20 %,
 * addresses 15 % (IPv4 and IPv6), networks 15 % (prefix lengths 8–30 and IPv6 /48–/64),
 * client id expressions 5 %, username expressions 5 % (each with a literal part, as operators
 * write them: `^meter-0042-[0-9]+$`). Added in one store transaction (`BannedList.addMany`).
 */
export function bannedSeed(entries: number): BanRequest[] {
  const out: BanRequest[] = [];
  // Networks with host bits cleared can coincide: keep each (kind, canonical who) once.
  const seen = new Set<string>();
  for (let i = 0; out.length < entries; i++) {
    const slot = i % 20;
    const a = (i >> 8) & 255;
    const b = i & 255;
    let request: BanRequest;
    if (slot < 8) request = { as: 'clientid', who: `device-${i.toString(36)}-revoked` };
    else if (slot < 12) request = { as: 'username', who: `tenant-${i}@example.net` };
    else if (slot < 14) request = { as: 'peerhost', who: `198.${18 + (i % 2)}.${a}.${b}` };
    else if (slot < 15) request = { as: 'peerhost', who: `2001:db8:${a.toString(16)}::${b.toString(16)}` };
    else if (slot < 17) request = { as: 'peerhost_net', who: `${10 + (i % 90)}.${a}.${b}.0/${8 + (i % 23)}` };
    else if (slot < 18) request = { as: 'peerhost_net', who: `2001:db8:${(i & 0xffff).toString(16)}::/${48 + (i % 17)}` };
    else if (slot < 19) request = { as: 'clientid_re', who: `^meter-${String(i).padStart(5, '0')}-[0-9]+$` };
    else request = { as: 'username_re', who: `^guest-${i}[a-z]*@lab\\.example$` };
    const key = `${String(request.as)} ${canonicalWho(request.as as BanKind, request.who)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(request);
  }
  return out;
}

/** Adds the seed to a running node's banned list; returns how many entries it holds. */
export function seedBanned(list: BannedList, seed: BannedSeed): number {
  list.addMany(bannedSeed(seed.entries), { by: 'bench' });
  return list.size;
}
