// Connection identity from a TLS peer certificate. See subject.ts for the exact DN format.
export { certificateIdentity, type PeerCertificateIdentity } from './certificate.js';
export { PeerCertificateError } from './der.js';
export {
  identityValueProblem,
  isPeerCertAsKind,
  MQTT_STRING_MAX_BYTES,
  PEER_CERT_AS_KINDS,
  peerCertAs,
  peerCertAsProblem,
  type PeerCertAsKind,
} from './peer-cert-as.js';
