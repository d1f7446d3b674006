import type { ClientCredential } from './types.js';
import { Template, placeholderValue } from './placeholders.js';

/**
 * Listener and gateway mountpoints (§5.2): `${clientid}`, `${username}`, `${endpoint_name}`,
 * `${zone}` and `${client_attrs.NAME}`, rendered with the one placeholder engine for MQTT and
 * STOMP alike. A value that is absent (gatehouse-choices 3) or that holds `+`, `#`, `/` or NUL
 * (gatehouse-choices 4) refuses the client: a wildcard would widen every topic it uses, and a `/`
 * would move it into another client's namespace (client `a/b` under `${clientid}/` would share
 * `a/` with client `a`).
 */
export type MountpointResult = { ok: true; mountpoint: string } | { ok: false; reason: string; placeholder: string };

const compiled = new Map<string, Template>();
const UNSAFE = /[+#/\0]/;

export function renderMountpoint(template: string, credential: ClientCredential): MountpointResult {
  if (!template.includes('${')) return { ok: true, mountpoint: template };
  let t = compiled.get(template);
  if (!t) {
    t = Template.compile(template, 'mountpoint');
    compiled.set(template, t);
  }
  let mountpoint = '';
  for (const part of t.parts) {
    if ('text' in part) {
      mountpoint += part.text;
      continue;
    }
    const name = part.name;
    const value = name === 'endpoint_name' ? credential.clientid : placeholderValue(name, credential);
    if (value === undefined) return { ok: false, placeholder: name, reason: `mountpoint placeholder \${${name}} has no value for this client` };
    if (UNSAFE.test(value)) return { ok: false, placeholder: name, reason: `mountpoint placeholder \${${name}} would insert '+', '#', '/' or NUL` };
    mountpoint += value;
  }
  return { ok: true, mountpoint };
}
