// The operator's own PKI: a CA and a serving certificate for its Service (webhook + config stream).
// @peculiar/x509 over WebCrypto: node:crypto can make keys but not certificates.

import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyPairPEM { certPEM: string; keyPEM: string }

async function keyPEM(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<Key> {
  const der = x509.PemConverter.decode(pem)[0]!;
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

const serial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');

export async function createCA(commonName: string, validityDays: number, now = new Date()): Promise<KeyPairPEM> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as KeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${commonName}`, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + validityDays * DAY),
    keys: keys as never, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPEM: cert.toString('pem'), keyPEM: await keyPEM(keys.privateKey) };
}

export async function issueServing(ca: KeyPairPEM, dnsNames: string[], ips: string[], validityDays: number, now = new Date()): Promise<KeyPairPEM> {
  const caCert = new x509.X509Certificate(ca.certPEM);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as KeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${dnsNames[0] ?? 'triage-operator'}`, issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + validityDays * DAY),
    publicKey: keys.publicKey as never, signingKey: (await importKey(ca.keyPEM)) as never, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPEM: cert.toString('pem'), keyPEM: await keyPEM(keys.privateKey) };
}

/** True when less than `renewBeforeFraction` of the certificate's lifetime remains. */
export function needsRenewal(certPEM: string, now = new Date(), renewBeforeFraction = 1 / 3): boolean {
  const c = new x509.X509Certificate(certPEM);
  const life = c.notAfter.getTime() - c.notBefore.getTime();
  return c.notAfter.getTime() - now.getTime() < life * renewBeforeFraction;
}

/** The DNS names a Service is reached by. */
export const serviceDNSNames = (service: string, ns: string) => [`${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`, `${service}.${ns}`, service];
