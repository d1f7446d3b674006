import type { AuthzClient, AuthzRequest } from '../../src/authz/types.js';

/** A client as authorization sees it: `c1` / `u1` from 10.0.0.5 unless told otherwise. */
export function authzClient(fields: Partial<AuthzClient> = {}): AuthzClient {
  return {
    clientid: 'c1',
    username: 'u1',
    peerhost: '10.0.0.5',
    listener: 'tcp:default',
    protocol: 'mqtt',
    mountpoint: '',
    isSuperuser: false,
    client_attrs: {},
    ...fields,
  };
}

export const pub = (topic: string, qos: 0 | 1 | 2 = 0, retain = false): AuthzRequest => ({ action: 'publish', topic, qos, retain });
export const sub = (topic: string, qos: 0 | 1 | 2 = 0): AuthzRequest => ({ action: 'subscribe', topic, qos, retain: false });
