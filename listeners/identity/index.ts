// Connection identity from a TLS peer certificate. See subject.ts for the exact DN format.
export { certificateIdentity, type PeerCertificateIdentity } from './certificate.js';
export { PeerCertificateError } from './der.js';
export { isPeerCertAsKind, PEER_CERT_AS_KINDS, peerCertAs, type PeerCertAsKind } from './peer-cert-as.js';
