import type { CertificateFields } from './types.js';
import { identityValueProblem, peerCertAs, peerCertAsProblem } from '../transport/identity/index.js';

/**
 * The certificate and PSK fields of the identity rules (`peer_cert_as_*`, `${ClientInfo.cn}`),
 * read from the connection's verified certificate or PSK identity (§11.3).
 */
export const transportCertificateFields: CertificateFields = {
  value(meta, field) {
    if (field === 'psk_identity') return meta.pskIdentity;
    return field === 'disabled' || !meta.cert ? undefined : peerCertAs(field, meta.cert);
  },
  problem(meta, field, maxBytes) {
    if (field === 'disabled') return undefined;
    if (field === 'psk_identity') return meta.pskIdentity === undefined ? undefined : identityValueProblem(field, meta.pskIdentity, maxBytes);
    return meta.cert ? peerCertAsProblem(field, meta.cert, maxBytes) : undefined;
  },
};
