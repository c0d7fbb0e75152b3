/** Object identifiers of the CMS structures the relay reads and writes (RFC 5652, 5754, 3565, 8017). */
export const Oid = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** Digests we accept in signatures (SHA-1 is refused: PS3.15 B.8 asks for SHA-256 or better). */
export const digestNames: Readonly<Record<string, string>> = { [Oid.sha256]: 'sha256', [Oid.sha384]: 'sha384', [Oid.sha512]: 'sha512' };

/** Content ciphers we decrypt, with their key lengths. */
export const cipherNames: Readonly<Record<string, { name: string; keyLength: number }>> = {
  [Oid.aes128Cbc]: { name: 'aes-128-cbc', keyLength: 16 },
  [Oid.aes192Cbc]: { name: 'aes-192-cbc', keyLength: 24 },
  [Oid.aes256Cbc]: { name: 'aes-256-cbc', keyLength: 32 },
};
