import * as openpgp from 'openpgp';
import { enums, type Config, type PublicKey, type SignaturePacket } from 'openpgp';

/**
 * What a partner's OpenPGP key may get away with. Strict by default: no SHA-1 in key or message
 * signatures, no DSA or ElGamal, no RSA under 2048 bits. An admin can grant a partner with an old
 * key an exception; it is shown in the API and logged whenever it is relied on.
 */
export interface LegacyAllowance {
  /** SHA-1 in the key's self-signatures and in the partner's message signatures. */
  sha1: boolean;
  /** DSA and ElGamal keys, RSA keys of 1024 to 2047 bits. */
  oldKeyTypes: boolean;
  /** Inline PGP: one armored OpenPGP message as the whole text/plain body, not PGP/MIME. */
  inlinePgp: boolean;
}

/** The exceptions that concern the partner's key and signatures (what openpgp is configured with). */
export type KeyAllowance = Pick<LegacyAllowance, 'sha1' | 'oldKeyTypes'>;

export const strictAllowance: LegacyAllowance = { sha1: false, oldKeyTypes: false, inlinePgp: false };

/** What is legacy about a key, by the exception that would allow it. */
export interface LegacyFindings {
  sha1: string[];
  oldKeyTypes: string[];
}

const weakHashes = [enums.hash.md5, enums.hash.ripemd];

/** The openpgp configuration for one partner: the library's defaults, tightened, with the partner's exceptions. */
export function pgpConfig(allow: KeyAllowance): Config {
  const sha1 = allow.sha1 ? [] : [enums.hash.sha1];
  return {
    ...openpgp.config,
    rejectHashAlgorithms: new Set([...weakHashes, ...sha1]),
    rejectMessageHashAlgorithms: new Set([...weakHashes, ...sha1]),
    rejectPublicKeyAlgorithms: new Set(allow.oldKeyTypes ? [] : [enums.publicKey.elgamal, enums.publicKey.dsa]),
    minRSABits: allow.oldKeyTypes ? 1023 : 2047,
  };
}

const rsa = new Set(['rsaEncryptSign', 'rsaEncrypt', 'rsaSign']);

/** Lists what in a key needs an exception (every key and subkey, every self-signature). */
export function legacyFindings(key: PublicKey): LegacyFindings {
  const findings: LegacyFindings = { sha1: [], oldKeyTypes: [] };
  const keys = [{ what: 'primary key', key: key.keyPacket }, ...key.subkeys.map((s, i) => ({ what: `subkey ${i + 1}`, key: s.keyPacket }))];
  for (const k of keys) {
    const info = k.key.getAlgorithmInfo();
    if (info.algorithm === 'dsa' || info.algorithm === 'elgamal') findings.oldKeyTypes.push(`${k.what} is ${info.algorithm.toUpperCase()}`);
    else if (rsa.has(info.algorithm) && (info.bits ?? 0) < 2048) findings.oldKeyTypes.push(`${k.what} is RSA with ${info.bits} bits`);
  }
  const signatures = [
    // Not in openpgp's typings, but read from the key block like the others.
    ...((key as unknown as { directSignatures?: SignaturePacket[] }).directSignatures ?? []).map((s) => ({ what: 'direct key signature', s })),
    ...key.users.flatMap((u) => u.selfCertifications.map((s) => ({ what: `self-signature of user ID ${u.userID?.userID ?? ''}`.trim(), s }))),
    ...key.subkeys.flatMap((sub, i) => sub.bindingSignatures.map((s) => ({ what: `binding signature of subkey ${i + 1}`, s }))),
  ];
  for (const { what, s } of signatures) if (s.hashAlgorithm === enums.hash.sha1) findings.sha1.push(`${what} uses SHA-1`);
  return findings;
}

/** The findings an allowance does not cover. */
export function unallowed(findings: LegacyFindings, allow: KeyAllowance): string[] {
  return [...(allow.sha1 ? [] : findings.sha1.map((f) => `${f} (allow with legacy.sha1)`)), ...(allow.oldKeyTypes ? [] : findings.oldKeyTypes.map((f) => `${f} (allow with legacy.oldKeyTypes)`))];
}
