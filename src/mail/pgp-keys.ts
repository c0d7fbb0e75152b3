import * as openpgp from 'openpgp';
import type { PublicKey } from 'openpgp';
import { legacyFindings, pgpConfig, unallowed, type KeyAllowance, type LegacyFindings } from './pgp-policy.ts';

export interface OpenPgpKeyInfo {
  fingerprint: string;
  algorithm: string;
  bits: number | null;
  created: string;
  /** null: the key does not expire. */
  expires: string | null;
  userIds: string[];
}

/**
 * Reads a partner's armored public key and checks it against the rules with the partner's
 * exceptions: one key only, public, usable to encrypt to and to verify with. `now` null skips the
 * usability check (a key already pinned is shown even when it has expired since).
 */
export async function readPartnerKey(armored: string, allow: KeyAllowance, now: Date | null): Promise<{ key?: PublicKey; findings: LegacyFindings; issues: string[] }> {
  const none: LegacyFindings = { sha1: [], oldKeyTypes: [] };
  let keys: PublicKey[];
  try {
    keys = (await openpgp.readKeys({ armoredKeys: armored })) as PublicKey[];
  } catch (err) {
    return { findings: none, issues: [`not a readable OpenPGP key: ${(err as Error).message}`] };
  }
  const [key] = keys;
  if (key === undefined || keys.length !== 1) return { findings: none, issues: [`expected one key, found ${keys.length}`] };
  if (key.isPrivate()) return { findings: none, issues: ['this is a private key: give the partner\'s public key only'] };
  const findings = legacyFindings(key);
  if (now === null) return { key, findings, issues: [] };
  const issues = unallowed(findings, allow);
  if (issues.length > 0) return { key, findings, issues };
  const config = pgpConfig(allow);
  for (const [what, check] of [
    ['encrypt to', () => key.getEncryptionKey(undefined, now, undefined, config)],
    ['verify signatures with', () => key.getSigningKey(undefined, now, undefined, config)],
  ] as const) {
    try {
      await check();
    } catch (err) {
      issues.push(`the key has nothing we can ${what}: ${(err as Error).message}`);
    }
  }
  return { key, findings, issues };
}

export async function openPgpKeyInfo(key: PublicKey): Promise<OpenPgpKeyInfo> {
  const info = key.getAlgorithmInfo();
  const expires = await key.getExpirationTime().catch(() => null);
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    algorithm: info.algorithm,
    bits: info.bits ?? null,
    created: key.getCreationTime().toISOString(),
    expires: expires instanceof Date ? expires.toISOString() : null,
    userIds: key.getUserIDs(),
  };
}
