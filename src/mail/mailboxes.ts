import type { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { mailboxSchema, openSecret, sealSecret } from '../config/index.ts';
import type { MailboxRepository, MailRepository, NewStoredMailbox, StoredMailbox } from '../db/index.ts';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { toFieldIssues } from '../domain/validation.ts';
import type { Logger } from '../log.ts';
import { certificateInfo, type CertificateInfo } from './certificate.ts';
import { certificatesOfPem } from './expiry.ts';
import { checkMailboxMaterial, MailboxSource, type Mailbox, type MailboxMaterial, type MailboxSettings } from './identity.ts';
import type { InboxReport } from './inbox.ts';
import type { MailboxRegistry } from './mailbox-registry.ts';
import { openOpenPgpIdentity, type OpenPgpIdentity } from './pgp-identity.ts';

const pemText = z.string().min(1).max(1_000_000);

/**
 * A mailbox as the API takes it: the settings of a config-file mailbox, with the certificates and
 * keys as PEM contents instead of file paths. The secrets (`pop3.password`, `tls.key`, `smime.key`,
 * `openpgp.key`, `openpgp.passphrase`) are never shown again; on PUT each one left out keeps the
 * stored value, so a mailbox read with GET can be changed and put back.
 */
export const mailboxInputSchema = mailboxSchema.omit({ pop3: true, tls: true, smime: true, openpgp: true }).extend({
  pop3: mailboxSchema.shape.pop3.extend({ password: z.string().min(1).max(1000).optional() }),
  /** Our TLS client certificate and key for both servers, and the CA (one or more certificates) that verifies the servers. */
  tls: z.object({ cert: pemText, key: pemText.optional(), ca: pemText }).strict(),
  /** Our S/MIME certificate and key: we sign with them and partners encrypt to them. */
  smime: z.object({ cert: pemText, key: pemText.optional() }).strict(),
  /** Our OpenPGP key pair: the armored private key, protected by the passphrase. */
  openpgp: z.object({ key: pemText.optional(), passphrase: z.string().min(1).max(1000).optional() }).strict().optional(),
});

/** A mailbox as the API shows it: never a private key, password or passphrase. */
export interface MailboxView {
  name: string;
  address: string;
  source: MailboxSource;
  smtp: MailboxSettings['smtp'];
  pop3: { host: string; port: number; user: string };
  pollSeconds: number;
  tls: { certificate: CertificateInfo; ca: CertificateInfo[] };
  smime: { certificate: CertificateInfo };
  /** Our public key, for partners to pin. */
  openpgp: { fingerprint: string; publicKey: string } | null;
  inbox: Omit<InboxReport, 'serverCertificate'> | null;
}

export interface MailboxesDeps {
  repository: MailboxRepository;
  /** For the partners that use a mailbox. */
  mail: MailRepository;
  registry: MailboxRegistry;
  /** The names of the config file's mailboxes: read-only here, and not to be taken. */
  configNames: ReadonlySet<string>;
  /** The key that seals the secrets at rest (made on first use). */
  secretKey: () => Buffer;
  clock: Clock;
  log: Logger;
}

/** A mailbox checked and ready: what the relay runs, and its secrets in plain for sealing. */
interface Resolved {
  mailbox: Mailbox;
  openpgp: OpenPgpIdentity | undefined;
  secrets: { pop3Password: string; tlsKey: string; smimeKey: string; openpgp: { key: string; passphrase: string } | null };
}

const stringAt = (input: unknown, ...path: string[]): string | undefined => {
  let node = input;
  for (const key of path) node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
  return typeof node === 'string' ? node : undefined;
};

/**
 * Our mailboxes in the API: those of the config file (read-only) and those made here, kept in the
 * database with their secrets sealed. Every change takes effect at once through the registry.
 */
export class Mailboxes {
  readonly #deps: MailboxesDeps;

  constructor(deps: MailboxesDeps) {
    this.#deps = deps;
  }

  list(): MailboxView[] {
    return [...this.#deps.registry.mailboxes.keys()].sort().map((name) => this.get(name));
  }

  get(name: string): MailboxView {
    const { registry } = this.#deps;
    const m = registry.mailboxes.get(name);
    if (m === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mailbox');
    const pgp = registry.openpgp.get(name);
    const report = registry.inboxes.get(name)?.report();
    const { serverCertificate: _, ...inbox } = report ?? { serverCertificate: null };
    return {
      name,
      address: m.config.address,
      source: m.source,
      smtp: m.config.smtp,
      pop3: { host: m.config.pop3.host, port: m.config.pop3.port, user: m.config.pop3.user },
      pollSeconds: m.config.pollSeconds,
      // The checks made sure the TLS certificate is PEM.
      tls: { certificate: certificateInfo(certificatesOfPem(m.tls.cert)[0] as X509Certificate), ca: certificatesOfPem(m.tls.ca).map(certificateInfo) },
      smime: { certificate: certificateInfo(m.smime.certificate.x509) },
      openpgp: pgp === undefined ? null : { fingerprint: pgp.fingerprint, publicKey: pgp.armoredPublicKey },
      inbox: report === undefined ? null : (inbox as MailboxView['inbox']),
    };
  }

  async create(input: unknown): Promise<MailboxView> {
    const resolved = await this.#resolve(input, undefined);
    const name = resolved.mailbox.config.name;
    // Checked again: another request may have taken the name while the keys were checked.
    this.#requireFree(name);
    this.#deps.repository.insert(this.#sealed(resolved), this.#deps.clock.now().toISOString());
    await this.#deps.registry.put(resolved.mailbox, resolved.openpgp);
    this.#deps.log.info({ mailbox: name, openpgp: resolved.openpgp?.fingerprint ?? null }, 'mailbox created through the API; its poller runs');
    return this.get(name);
  }

  async update(name: string, input: unknown): Promise<MailboxView> {
    const stored = this.#requireStored(name);
    const body = typeof input === 'object' && input !== null && !Array.isArray(input) ? { name, ...input } : input;
    const resolved = await this.#resolve(body, stored);
    this.#requireStored(name);
    this.#deps.repository.update(this.#sealed(resolved), this.#deps.clock.now().toISOString());
    await this.#deps.registry.put(resolved.mailbox, resolved.openpgp);
    this.#deps.log.info({ mailbox: name, openpgp: resolved.openpgp?.fingerprint ?? null }, 'mailbox changed through the API; its poller restarted');
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    this.#requireStored(name);
    const users = this.#deps.mail.partners().filter((p) => p.mailbox === name).map((p) => p.name);
    if (users.length > 0) {
      throw new GatewayError(ErrorCode.Conflict, `mailbox "${name}" is used by partner(s) ${users.map((u) => `"${u}"`).join(', ')}; give them another mailbox or delete them first`, {
        issues: users.map((u) => ({ path: 'partners', message: `partner "${u}" uses this mailbox` })),
      });
    }
    // Its queued mails would fail and its stored mails stay unread: they must be done first.
    const pending = this.#deps.mail.pendingOfMailbox(name);
    if (pending.queued > 0 || pending.stored > 0) {
      const issues = [
        ...(pending.queued > 0 ? [{ path: 'messages', message: `${pending.queued} mail(s) still queued to send from it (GET /api/v1/mail/messages?state=queued)` }] : []),
        ...(pending.stored > 0 ? [{ path: 'received', message: `${pending.stored} received mail(s) not handled yet (GET /api/v1/mail/received?state=stored)` }] : []),
      ];
      throw new GatewayError(ErrorCode.Conflict, `mailbox "${name}" still has mail to handle; delete it once that is done`, { issues });
    }
    this.#deps.repository.delete(name);
    await this.#deps.registry.remove(name);
    this.#deps.log.info({ mailbox: name }, 'mailbox deleted through the API; its poller stopped');
  }

  /**
   * Puts the mailboxes kept in the database into the registry (at start). One that cannot be used
   * (its sealed secrets do not open with this secret key, ...) stops the start, named by field.
   */
  async loadStored(): Promise<void> {
    const issues: FieldIssue[] = [];
    const ready: { mailbox: Mailbox; openpgp: OpenPgpIdentity | undefined }[] = [];
    for (const stored of this.#deps.repository.all()) {
      const at = `mailbox ${stored.name} (stored through the API)`;
      if (this.#deps.configNames.has(stored.name)) {
        issues.push({ path: at, message: 'the config file now has a mailbox of this name', hint: 'rename one of them' });
        continue;
      }
      const opened = this.#open(stored, at, issues);
      if (opened === undefined) continue;
      const result = await this.#check(opened.material, opened.openpgp, at, issues);
      if (result === undefined) continue;
      const config: MailboxSettings = { name: stored.name, address: stored.address, smtp: stored.smtp, pop3: { host: stored.pop3.host, port: stored.pop3.port, user: stored.pop3.user, password: opened.pop3Password }, pollSeconds: stored.pollSeconds };
      ready.push({ mailbox: { config, source: MailboxSource.Api, ...result.checked }, openpgp: result.openpgp });
    }
    if (issues.length > 0) throw new GatewayError(ErrorCode.Invalid, 'the mailboxes stored through the API cannot be used', { issues });
    for (const r of ready) await this.#deps.registry.put(r.mailbox, r.openpgp);
  }

  #requireFree(name: string): void {
    if (this.#deps.configNames.has(name)) throw new GatewayError(ErrorCode.Conflict, `a mailbox named "${name}" is defined in the config file`, { issues: [{ path: 'name', message: 'used by a mailbox of the config file' }] });
    if (this.#deps.repository.get(name) !== undefined) throw new GatewayError(ErrorCode.Conflict, `a mailbox named "${name}" exists`, { issues: [{ path: 'name', message: 'already used' }] });
  }

  #requireStored(name: string): StoredMailbox {
    if (this.#deps.configNames.has(name)) {
      throw new GatewayError(ErrorCode.Conflict, `mailbox "${name}" is defined in the config file (mail.mailboxes): change or remove it there, then restart the gateway`, {
        issues: [{ path: 'name', message: 'a mailbox of the config file is read-only in the API' }],
      });
    }
    const stored = this.#deps.repository.get(name);
    if (stored === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mailbox');
    return stored;
  }

  /**
   * Checks a request: its shape, each certificate and key, the OpenPGP key and passphrase, the
   * name. Every wrong field is named in one answer: the key checks run on whatever the request holds
   * even when other fields are wrong.
   */
  async #resolve(input: unknown, stored: StoredMailbox | undefined): Promise<Resolved> {
    const issues: FieldIssue[] = [];
    const parsed = mailboxInputSchema.safeParse(input);
    if (!parsed.success) issues.push(...toFieldIssues(parsed.error));
    const kept = stored === undefined ? undefined : this.#open(stored, 'stored', issues);
    const secret = (path: string[], keptValue: string | undefined): string | undefined => {
      const given = stringAt(input, ...path);
      if (given !== undefined) return given;
      if (keptValue !== undefined) return keptValue;
      // Absent (not merely malformed, which the schema reported): required when there is nothing stored.
      if (!issues.some((i) => i.path === path.join('.'))) issues.push({ path: path.join('.'), message: 'required' });
      return undefined;
    };
    const plain = {
      pop3Password: secret(['pop3', 'password'], kept?.pop3Password),
      tlsKey: secret(['tls', 'key'], kept?.tlsKey),
      smimeKey: secret(['smime', 'key'], kept?.smimeKey),
    };
    const givenPgp = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)['openpgp'] : undefined;
    const wantsPgp = typeof givenPgp === 'object' && givenPgp !== null;
    const pgp = wantsPgp ? { key: secret(['openpgp', 'key'], kept?.openpgp?.key), passphrase: secret(['openpgp', 'passphrase'], kept?.openpgp?.passphrase) } : null;

    const material = {
      tls: { cert: Buffer.from(stringAt(input, 'tls', 'cert') ?? ''), key: Buffer.from(plain.tlsKey ?? ''), ca: Buffer.from(stringAt(input, 'tls', 'ca') ?? '') },
      smime: { cert: Buffer.from(stringAt(input, 'smime', 'cert') ?? ''), key: Buffer.from(plain.smimeKey ?? '') },
    };
    // A field the schema or the checks above already faulted is not faulted twice.
    const found: FieldIssue[] = [];
    const result = await this.#check(material, pgp?.key !== undefined && pgp.passphrase !== undefined ? { key: pgp.key, passphrase: pgp.passphrase } : null, '', found);
    issues.push(...found.filter((f) => !issues.some((i) => i.path === f.path)));

    const name = stringAt(input, 'name');
    let conflict: FieldIssue | undefined;
    if (stored === undefined && name !== undefined) {
      try {
        this.#requireFree(name);
      } catch (err) {
        conflict = (err as GatewayError).issues[0];
      }
    }
    if (stored !== undefined && name !== stored.name) issues.push({ path: 'name', message: `a mailbox cannot be renamed (partners and mails refer to it by name); make a new one` });
    if (conflict !== undefined && issues.length === 0) throw new GatewayError(ErrorCode.Conflict, `the name "${name}" is taken: ${conflict.message}`, { issues: [conflict] });
    if (conflict !== undefined) issues.push(conflict);
    if (issues.length > 0 || result === undefined || !parsed.success || plain.pop3Password === undefined || plain.tlsKey === undefined || plain.smimeKey === undefined) {
      throw new GatewayError(ErrorCode.Invalid, 'invalid mailbox', { issues });
    }
    const { tls: _, smime: __, openpgp: ___, ...settings } = parsed.data;
    return {
      mailbox: { config: { ...settings, pop3: { ...settings.pop3, password: plain.pop3Password } }, source: MailboxSource.Api, ...result.checked },
      openpgp: result.openpgp,
      secrets: { pop3Password: plain.pop3Password, tlsKey: plain.tlsKey, smimeKey: plain.smimeKey, openpgp: pgp === null ? null : { key: pgp.key as string, passphrase: pgp.passphrase as string } },
    };
  }

  /** The shared checks of identity.ts and pgp-identity.ts, on contents. */
  async #check(
    material: MailboxMaterial,
    openpgp: { key: string; passphrase: string } | null,
    at: string,
    issues: FieldIssue[],
  ): Promise<{ checked: Pick<Mailbox, 'tls' | 'smime'>; openpgp: OpenPgpIdentity | undefined } | undefined> {
    const before = issues.length;
    const checked = checkMailboxMaterial(material, at, issues);
    const identity = openpgp === null ? undefined : await openOpenPgpIdentity(openpgp.key, openpgp.passphrase, at === '' ? 'openpgp' : `${at}.openpgp`, issues);
    return issues.length > before || checked === undefined ? undefined : { checked, openpgp: identity };
  }

  /** A stored mailbox's secrets opened. */
  #open(stored: StoredMailbox, at: string, issues: FieldIssue[]): { pop3Password: string; tlsKey: string; smimeKey: string; openpgp: { key: string; passphrase: string } | null; material: MailboxMaterial } | undefined {
    let key: Buffer;
    try {
      key = this.#deps.secretKey();
    } catch (err) {
      issues.push({ path: at, message: `the secret key that opens the stored secrets cannot be read: ${(err as Error).message}`, hint: 'set secretKeyFile to the key the mailbox was stored with' });
      return undefined;
    }
    const open = (sealed: string, field: string): string | undefined => {
      try {
        return openSecret(sealed, key);
      } catch {
        issues.push({ path: `${at}.${field}`, message: 'the sealed value does not open with the secret key', hint: 'set secretKeyFile to the key the mailbox was stored with' });
        return undefined;
      }
    };
    const pop3Password = open(stored.pop3.passwordSealed, 'pop3.password');
    const tlsKey = open(stored.tls.keySealed, 'tls.key');
    const smimeKey = open(stored.smime.keySealed, 'smime.key');
    const pgpKey = stored.openpgp === null ? null : open(stored.openpgp.keySealed, 'openpgp.key');
    const pgpPassphrase = stored.openpgp === null ? null : open(stored.openpgp.passphraseSealed, 'openpgp.passphrase');
    if (pop3Password === undefined || tlsKey === undefined || smimeKey === undefined || pgpKey === undefined || pgpPassphrase === undefined) return undefined;
    return {
      pop3Password,
      tlsKey,
      smimeKey,
      openpgp: pgpKey === null || pgpPassphrase === null ? null : { key: pgpKey, passphrase: pgpPassphrase },
      material: { tls: { cert: Buffer.from(stored.tls.cert), key: Buffer.from(tlsKey), ca: Buffer.from(stored.tls.ca) }, smime: { cert: Buffer.from(stored.smime.cert), key: Buffer.from(smimeKey) } },
    };
  }

  #sealed(r: Resolved): NewStoredMailbox {
    let key: Buffer;
    try {
      key = this.#deps.secretKey();
    } catch (err) {
      throw new GatewayError(ErrorCode.Unavailable, `the mailbox is not stored: its secrets cannot be sealed (${(err as Error).message}); check secretKeyFile`, { cause: err });
    }
    const { config } = r.mailbox;
    return {
      name: config.name,
      address: config.address,
      smtp: config.smtp,
      pop3: { host: config.pop3.host, port: config.pop3.port, user: config.pop3.user, passwordSealed: sealSecret(r.secrets.pop3Password, key) },
      tls: { cert: r.mailbox.tls.cert.toString(), keySealed: sealSecret(r.secrets.tlsKey, key), ca: r.mailbox.tls.ca.toString() },
      smime: { cert: r.mailbox.smime.certificate.x509.toString(), keySealed: sealSecret(r.secrets.smimeKey, key) },
      openpgp: r.secrets.openpgp === null ? null : { keySealed: sealSecret(r.secrets.openpgp.key, key), passphraseSealed: sealSecret(r.secrets.openpgp.passphrase, key) },
      pollSeconds: config.pollSeconds,
    };
  }
}
