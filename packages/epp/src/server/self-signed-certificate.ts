import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '@llmd/core';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derImplicitPrimitive,
  derObjectIdentifier,
  derOctetString,
  derSequence,
  derSet,
  derTime,
  derUnsignedInteger,
  derUtf8String,
} from './der-writer.js';

/** A PEM certificate chain and its private key. */
export interface TlsMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface SelfSignedCertificateOptions {
  /** Subject common name; default `llmd-epp`. */
  readonly commonName?: string;
  /** Subject alternative names (DNS names or IP addresses); default localhost, 127.0.0.1, ::1. */
  readonly hosts?: ReadonlyArray<string>;
  /** Validity in days from `now`; default 3650 (ten years, as llm-d's self-signed certificate). */
  readonly validityDays?: number;
  readonly now?: Date;
}

const objectIds = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  organizationName: '2.5.4.10',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
  subjectAlternativeName: '2.5.29.17',
  serverAuthentication: '1.3.6.1.5.5.7.3.1',
} as const;

const dayMilliseconds = 24 * 60 * 60 * 1000;

/**
 * Generates a self-signed server certificate with `node:crypto` only: an ECDSA P-256 key and an
 * X.509 v3 certificate whose DER is written by hand (der-writer.ts) and signed with
 * `crypto.sign`. Like llm-d's (`--secure-serving` without `--cert-path`) it is a non-CA server
 * certificate; proxies in front of the EPP do not verify it. P-256 instead of llm-d's RSA-4096
 * keeps startup fast (an RSA-4096 key takes seconds to generate).
 */
export function generateSelfSignedCertificate(options: SelfSignedCertificateOptions = {}): TlsMaterial {
  const now = options.now ?? new Date();
  const validityDays = options.validityDays ?? 3650;
  if (!(validityDays > 0))
    throw new InvalidArgumentError('validityDays must be positive', { path: 'validityDays' });
  const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signatureAlgorithm = derSequence(derObjectIdentifier(objectIds.ecdsaWithSha256));
  const name = derSequence(
    derSet(derSequence(derObjectIdentifier(objectIds.organizationName), derUtf8String('llmd'))),
    derSet(
      derSequence(derObjectIdentifier(objectIds.commonName), derUtf8String(options.commonName ?? 'llmd-epp')),
    ),
  );
  // 16 random bytes with the top bit cleared: a positive serial of at most 20 octets (RFC 5280 §4.1.2.2).
  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  // Back-date by a minute so clocks slightly behind ours still accept the certificate.
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + validityDays * dayMilliseconds);

  const extensions = derSequence(
    extension(objectIds.basicConstraints, true, derSequence()),
    // digitalSignature only (bit 0): ECDSA keys sign the TLS handshake, they do not encipher keys.
    extension(objectIds.keyUsage, true, derBitString(Buffer.from([0x80]), 7)),
    extension(
      objectIds.extendedKeyUsage,
      false,
      derSequence(derObjectIdentifier(objectIds.serverAuthentication)),
    ),
    extension(objectIds.subjectAlternativeName, false, derSequence(...hosts.map(generalName))),
  );
  const toBeSigned = derSequence(
    derExplicit(0, derUnsignedInteger(Buffer.from([2]))),
    derUnsignedInteger(serial),
    signatureAlgorithm,
    name,
    derSequence(derTime(notBefore), derTime(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    derExplicit(3, extensions),
  );
  // Node signs ECDSA in DER (`dsaEncoding: 'der'`), which is what X.509 expects.
  const signature = sign('sha256', toBeSigned, privateKey);
  const certificate = derSequence(toBeSigned, signatureAlgorithm, derBitString(signature));

  return {
    certificatePem: toPem('CERTIFICATE', certificate),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function extension(objectId: string, critical: boolean, value: Uint8Array) {
  return critical
    ? derSequence(derObjectIdentifier(objectId), derBoolean(true), derOctetString(value))
    : derSequence(derObjectIdentifier(objectId), derOctetString(value));
}

function generalName(host: string): Buffer {
  if (isIPv4(host)) return derImplicitPrimitive(7, Buffer.from(host.split('.').map(Number)));
  if (isIPv6(host)) return derImplicitPrimitive(7, ipv6Bytes(host));
  return derImplicitPrimitive(2, Buffer.from(host, 'ascii'));
}

/** The 16 bytes of an IPv6 address (`::` expanded; an embedded dotted IPv4 tail is accepted). */
function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (part: string): number[] => {
    if (part === '') return [];
    return part.split(':').flatMap((group) => {
      if (isIPv4(group)) {
        const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
        return [(a << 8) | b, (c << 8) | d];
      }
      return [Number.parseInt(group, 16)];
    });
  };
  const leading = groups(head);
  const trailing = tail === undefined ? [] : groups(tail);
  const zeros = Array<number>(8 - leading.length - trailing.length).fill(0);
  const bytes = Buffer.alloc(16);
  for (const [index, group] of [...leading, ...zeros, ...trailing].entries())
    bytes.writeUInt16BE(group, index * 2);
  return bytes;
}

function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
