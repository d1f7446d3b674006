import type { AuthnErrorReason } from '../authn/types.js';

/** MQTT 5 CONNACK reason codes for an authentication error (emqx5-auth.md §1.2). */
const V5: Record<AuthnErrorReason, number> = {
  bad_username_or_password: 0x86,
  not_authorized: 0x87,
  banned: 0x8a,
  bad_authentication_method: 0x8c,
  server_unavailable: 0x88,
  server_busy: 0x89,
  unspecified_error: 0x80,
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

export function connackReasonCode(reason: AuthnErrorReason): number {
  return V5[reason];
}
