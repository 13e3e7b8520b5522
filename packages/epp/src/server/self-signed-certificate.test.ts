import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSelfSignedCertificate } from './self-signed-certificate.js';

describe('generateSelfSignedCertificate', () => {
  it('produces a certificate OpenSSL parses, signed by its own key, matching the private key', () => {
    const now = new Date('2026-08-01T12:00:00Z');
    const material = generateSelfSignedCertificate({ now });
    const certificate = new X509Certificate(material.certificatePem);

    expect(certificate.subject).toBe('O=llmd\nCN=llmd-epp');
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.checkPrivateKey(createPrivateKey(material.privateKeyPem))).toBe(true);
    expect(certificate.ca).toBe(false);
    expect(certificate.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(certificate.checkHost('localhost')).toBe('localhost');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(certificate.validFrom).getTime()).toBe(now.getTime() - 60_000);
    expect(new Date(certificate.validTo).getTime()).toBe(now.getTime() + 3650 * 24 * 60 * 60 * 1000);
  });

  it('writes custom names and addresses, and GeneralizedTime past 2049', () => {
    const material = generateSelfSignedCertificate({
      commonName: 'epp.llm-d.svc',
      hosts: ['epp.llm-d.svc', '10.1.2.3', '2001:db8::7', '::ffff:192.0.2.1'],
      now: new Date('2045-01-01T00:00:00Z'),
      validityDays: 3650,
    });
    const certificate = new X509Certificate(material.certificatePem);

    expect(certificate.subject).toContain('CN=epp.llm-d.svc');
    expect(certificate.subjectAltName).toBe(
      'DNS:epp.llm-d.svc, IP Address:10.1.2.3, IP Address:2001:DB8:0:0:0:0:0:7, IP Address:0:0:0:0:0:FFFF:C000:201',
    );
    expect(new Date(certificate.validTo).getUTCFullYear()).toBe(2054);
  });

  it('gives every certificate its own key and serial number', () => {
    const first = new X509Certificate(generateSelfSignedCertificate().certificatePem);
    const second = new X509Certificate(generateSelfSignedCertificate().certificatePem);

    expect(first.serialNumber).not.toBe(second.serialNumber);
    expect(first.fingerprint256).not.toBe(second.fingerprint256);
  });
});
