import type { DisconnectReason, Refusal, RefusalReason } from '../access/connection.js';

/** MQTT 5 CONNACK reason codes for the access service's refusal reasons (emqx5-auth.md §1.2). */
const V5: Record<RefusalReason, number> = {
  bad_username_or_password: 0x86,
  not_authorized: 0x87,
  banned: 0x8a,
  bad_authentication_method: 0x8c,
  server_unavailable: 0x88,
  server_busy: 0x89,
  unspecified_error: 0x80,
  client_identifier_not_valid: 0x85,
  // 0x85 instead when the client id is to blame (connackReasonCode).
  bad_mountpoint: 0x87,
};

/** MQTT 5 reason code → MQTT 3.1/3.1.1 CONNACK return code (EMQX's compat table). */
export function v3ReturnCode(v5: number): number {
  if (v5 >= 0x80 && v5 <= 0x84) return 1;
  switch (v5) {
    case 0x85:
      return 2;
    case 0x86:
      return 4;
    case 0x87:
    case 0x8a:
    case 0x8c:
      return 5;
    default:
      return 3;
  }
}

/**
 * The CONNACK reason code for a refusal. A mountpoint that cannot be rendered is 0x85 (Client
 * Identifier not valid) when the client id is to blame (`${clientid}`, `${endpoint_name}`),
 * else 0x87 (Not authorized).
 */
export function connackReasonCode(reason: RefusalReason, placeholder?: Refusal['placeholder']): number {
  if (reason === 'bad_mountpoint' && (placeholder === 'clientid' || placeholder === 'endpoint_name')) return 0x85;
  return V5[reason];
}

/**
 * MQTT 5 DISCONNECT reason codes for the node ending a connection. Only the codes of MQTT 5.0
 * §3.14.2.1 (Table 3-10) may be sent: 0x8A (Banned) is a CONNACK code only, and a strict client
 * (mqtt-packet's parser, so mqtt.js and Gatehouse itself) treats a DISCONNECT 0x8A as a Protocol
 * Error; a connected client that gets banned is told 0x98 (Administrative action), as an
 * operator's kick is.
 */
const DISCONNECT: Record<DisconnectReason, number> = {
  // emqx5-auth.md §1.1 step 7 (`expire_at`): a forced DISCONNECT 0x87 (Not authorized).
  authentication_expired: 0x87,
  banned: 0x98,
  administrative_action: 0x98,
};

export function disconnectReasonCode(reason: DisconnectReason): number {
  return DISCONNECT[reason];
}
