import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FieldIssue } from '../domain/errors.ts';

/**
 * Secrets in the config file (the POP3 password, the API token, ...) may be written sealed:
 * `enc:v1:<base64>` is AES-256-GCM under a key kept apart from the file, in `secretKeyFile`
 * (default `<dataDir>/secret.key`, 32 random bytes, mode 0600, made by `dicom-gateway seal-secret`).
 * A copied or backed-up config file then gives nothing away without the key file.
 */
export const sealedPrefix = 'enc:v1:';

export function defaultSecretKeyFile(dataDir: string): string {
  return path.join(dataDir, 'secret.key');
}

/** Reads the key; with `create`, makes it (readable by this user only) when it does not exist. */
export function loadSecretKey(file: string, create: boolean): Buffer {
  if (!existsSync(file)) {
    if (!create) throw new Error(`the secret key file ${file} does not exist`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new Error(`the secret key file ${file} does not hold a 256-bit key (64 hex digits)`);
  return key;
}

export function sealSecret(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `${sealedPrefix}${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64')}`;
}

export function openSecret(sealed: string, key: Buffer): string {
  const raw = Buffer.from(sealed.slice(sealedPrefix.length), 'base64');
  if (raw.length < 28) throw new Error('the sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * Replaces every sealed string of a parsed config with its plain value, in place. Reads the key
 * only when there is something to open; reports each value that cannot be opened by its path.
 */
export function openSealedValues(config: Record<string, unknown>, keyFile: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  let key: Buffer | undefined;
  let keyError: string | undefined;
  const visit = (node: unknown, at: string): unknown => {
    if (typeof node === 'string' && node.startsWith(sealedPrefix)) {
      if (key === undefined && keyError === undefined) {
        try {
          key = loadSecretKey(keyFile, false);
        } catch (err) {
          keyError = (err as Error).message;
        }
      }
      if (key === undefined) {
        issues.push({ path: at, message: `sealed value, but ${keyError ?? 'no key'}`, hint: 'set secretKeyFile to the key that sealed it' });
        return node;
      }
      try {
        return openSecret(node, key);
      } catch {
        issues.push({ path: at, message: 'the sealed value does not open with the secret key', hint: 'seal it again with `dicom-gateway seal-secret`' });
        return node;
      }
    }
    if (Array.isArray(node)) return node.map((v, i) => visit(v, `${at}[${i}]`));
    if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) (node as Record<string, unknown>)[k] = visit(v, at === '' ? k : `${at}.${k}`);
    }
    return node;
  };
  visit(config, '');
  return issues;
}
