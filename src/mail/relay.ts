import * as openpgp from 'openpgp';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { StoreOutcome } from '../archive/index.ts';
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/index.ts';
import { MailboxRepository, MailPartialRepository, MailRepository, type ArchiveRepository, type Database, type OutboundMail, type ReceivedSet } from '../db/index.ts';
import type { ComponentHealth } from '../health.ts';
import type { AnyJobDefinition, JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import { certificatesOfPem, expiryAt, expiryOf, type CertificateExpiry } from './expiry.ts';
import { loadMailboxes, type Mailbox } from './identity.ts';
import { MailInbox } from './inbox.ts';
import { mailJobs } from './mail-jobs.ts';
import { MailboxRegistry } from './mailbox-registry.ts';
import { Mailboxes } from './mailboxes.ts';
import { MailOutbound, type OutboundDeps } from './outbound.ts';
import { Partners } from './partners.ts';
import { loadOpenPgpIdentities, type OpenPgpIdentity } from './pgp-identity.ts';

export interface MailRelayDeps {
  config: GatewayConfig['mail'];
  db: Database;
  archive: ArchiveRepository;
  jobs: JobQueue;
  /** The archive and the relay's own directory (`mail/` in the data dir). */
  dirs: { archive: string; mail: string };
  /** Imports one received DICOM file as a C-STORE would be stored (the archive store). */
  importFile: (file: string, source: { callingAeTitle: string; associationId: string }) => Promise<StoreOutcome>;
  /** Written into the instances made of received PDFs. */
  implementation: { classUid: string; versionName: string };
  /** The key that seals the secrets of mailboxes made through the API (`secretKeyFile`; made on first use). */
  secretKey: () => Buffer;
  clock: Clock;
  log: Logger;
  /** Tests replace the SMTP side. */
  smtp?: OutboundDeps['smtp'];
}

/**
 * The e-mail relay, wired: our mailboxes (config file and API), partners, sending (planned mails with
 * their jobs), a poller per mailbox, and the certificate expiry report. Built before the job queue
 * starts (its job types register then); built also without any mailbox, so that the first can be
 * made through the API.
 */
export class MailRelay {
  readonly partners: Partners;
  readonly outbound: MailOutbound;
  readonly repository: MailRepository;
  /** Our mailboxes in the API: the config file's (read-only) and those made there. */
  readonly mailboxAdmin: Mailboxes;
  /** Our mailboxes, their OpenPGP key pairs and inboxes, as they are now. */
  readonly #registry: MailboxRegistry;
  /** The config file's mailboxes, checked at construction; registered by `start()`. */
  readonly #configMailboxes: Mailbox[];
  /**
   * Expiry of the OpenPGP keys in use (ours, partners' pinned ones), by armored key: openpgp reads it
   * asynchronously, the expiry report is synchronous (health), so keys are read at start and as they
   * appear. null: the key does not expire.
   */
  readonly #pgpExpiry = new Map<string, { subject: string; expires: Date | null }>();
  /** Received message/partial sets. */
  readonly partials: MailPartialRepository;
  readonly #deps: MailRelayDeps;

  constructor(deps: MailRelayDeps) {
    this.#deps = deps;
    const log = deps.log;
    this.repository = new MailRepository(deps.db);
    this.partials = new MailPartialRepository(deps.db);
    this.#configMailboxes = loadMailboxes(deps.config.mailboxes);
    this.#registry = new MailboxRegistry((mailbox) => this.#newInbox(mailbox));
    this.partners = new Partners({ repository: this.repository, mailboxes: this.#registry.mailboxes, clock: deps.clock });
    this.outbound = new MailOutbound({
      db: deps.db,
      mail: this.repository,
      archive: deps.archive,
      partners: this.partners,
      mailboxes: this.#registry.mailboxes,
      openpgp: this.#registry.openpgp,
      jobs: deps.jobs,
      archiveDir: deps.dirs.archive,
      outboxDir: path.join(deps.dirs.mail, 'outbox'),
      mailDir: deps.dirs.mail,
      clock: deps.clock,
      log,
      ...(deps.smtp === undefined ? {} : { smtp: deps.smtp }),
    });
    this.mailboxAdmin = new Mailboxes({
      repository: new MailboxRepository(deps.db),
      mail: this.repository,
      registry: this.#registry,
      configNames: new Set(this.#configMailboxes.map((m) => m.config.name)),
      secretKey: deps.secretKey,
      clock: deps.clock,
      log,
    });
  }

  get mailboxes(): ReadonlyMap<string, Mailbox> {
    return this.#registry.mailboxes;
  }

  get inboxes(): ReadonlyMap<string, MailInbox> {
    return this.#registry.inboxes;
  }

  /** Our OpenPGP key pairs by mailbox (the keys' passphrases are checked as they are opened). */
  get openpgp(): ReadonlyMap<string, OpenPgpIdentity> {
    return this.#registry.openpgp;
  }

  #newInbox(mailbox: Mailbox): MailInbox {
    const deps = this.#deps;
    return new MailInbox(
      {
        mailbox,
        openpgp: this.#registry.openpgp,
        mail: this.repository,
        partners: this.partners,
        importFile: deps.importFile,
        implementation: deps.implementation,
        inboxDir: path.join(deps.dirs.mail, 'inbox'),
        workDir: path.join(deps.dirs.mail, 'work'),
        maxInboundBytes: deps.config.maxInboundMb * 1024 * 1024,
        maxParts: deps.config.maxParts,
        partials: this.partials,
        partialTimeoutMs: deps.config.partialTimeoutHours * 3_600_000,
        setTimeoutMs: deps.config.setTimeoutHours * 3_600_000,
        // A mail without a Message-ID cannot be acknowledged (the receipt names it).
        ...(deps.config.sendReceipts ? { onImported: async (received: { id: number; messageId: string | null }) => (received.messageId === null ? undefined : this.outbound.queueReceipt(received.id)) } : {}),
        clock: deps.clock,
        log: deps.log,
      },
      mailbox.config.pollSeconds * 1000,
    );
  }

  jobDefinitions(): AnyJobDefinition[] {
    return mailJobs({ outbound: this.outbound, sendAttempts: this.#deps.config.sendAttempts });
  }

  /** For the study-stable job: queue the sends the partners' routing rules ask for. */
  routeStable(tx: DatabaseSync, studyInstanceUid: string): void {
    this.outbound.routeStable(tx, studyInstanceUid);
  }

  async start(): Promise<void> {
    const configPgp = await loadOpenPgpIdentities(this.#deps.config.mailboxes);
    for (const mailbox of this.#configMailboxes) await this.#registry.put(mailbox, configPgp.get(mailbox.config.name));
    await this.mailboxAdmin.loadStored();
    for (const [name, identity] of this.openpgp) this.#deps.log.info({ mailbox: name, fingerprint: identity.fingerprint }, 'OpenPGP key opened');
    const armored = [...[...this.openpgp.values()].map((i) => i.armoredPublicKey), ...this.repository.partners().flatMap((p) => (p.openpgpKey === null ? [] : [p.openpgpKey]))];
    await Promise.all(armored.map((key) => this.#learnPgpExpiry(key)));
    for (const p of this.repository.partners()) {
      if (p.legacy.sha1 || p.legacy.oldKeyTypes || p.legacy.inlinePgp) this.#deps.log.warn({ partner: p.name, legacy: p.legacy }, 'partner allowed legacy OpenPGP (exception to the strict rules)');
    }
    for (const entry of this.certificates()) {
      if (entry.status !== 'ok') this.#deps.log.warn({ owner: entry.owner, validTo: entry.validTo, daysLeft: entry.daysLeft }, entry.status === 'expired' ? 'certificate expired' : 'certificate expires soon');
    }
    await this.#registry.start();
  }

  async stop(): Promise<void> {
    await this.#registry.stop();
  }

  /** Received sets, each flagged `overdue` when still incomplete after `mail.setTimeoutHours`. */
  receivedSets(q: { incomplete?: boolean; limit: number; offset: number }): (ReceivedSet & { overdue: boolean })[] {
    const cutoff = new Date(this.#deps.clock.now().getTime() - this.#deps.config.setTimeoutHours * 3_600_000).toISOString();
    return this.repository.receivedSets(q).map((x) => ({ ...x, overdue: !x.complete && x.firstAt < cutoff }));
  }

  /** Sent mails no receipt acknowledged within `mail.receiptTimeoutHours`. */
  overdueReceipts(): OutboundMail[] {
    return this.repository.unacknowledgedBefore(new Date(this.#deps.clock.now().getTime() - this.#deps.config.receiptTimeoutHours * 3_600_000).toISOString());
  }

  /** Every certificate the relay relies on, with its expiry: ours, the CAs, the partners', the POP3 and SMTP servers' as last seen. */
  certificates(): CertificateExpiry[] {
    const now = this.#deps.clock.now();
    const days = this.#deps.config.expiryWarningDays;
    const out: CertificateExpiry[] = [];
    for (const m of this.mailboxes.values()) {
      out.push(expiryOf(`mailbox ${m.config.name}: S/MIME`, m.smime.certificate.x509, now, days));
      for (const c of certificatesOfPem(m.tls.cert).slice(0, 1)) out.push(expiryOf(`mailbox ${m.config.name}: TLS client`, c, now, days));
      for (const c of certificatesOfPem(m.tls.ca)) out.push(expiryOf(`mailbox ${m.config.name}: CA`, c, now, days));
      const server = this.inboxes.get(m.config.name)?.report().serverCertificate;
      if (server !== null && server !== undefined) out.push(expiryOf(`mailbox ${m.config.name}: POP3 server ${m.config.pop3.host}`, new X509Certificate(server), now, days));
      const smtp = this.outbound.serverCertificate(m.config.name);
      if (smtp !== undefined) out.push(expiryOf(`mailbox ${m.config.name}: SMTP server ${m.config.smtp.host}`, new X509Certificate(smtp), now, days));
    }
    const pgp = (owner: string, armored: string): void => {
      const known = this.#pgpExpiry.get(armored);
      if (known === undefined) void this.#learnPgpExpiry(armored);
      else if (known.expires !== null) out.push(expiryAt(owner, known.subject, known.expires, now, days));
    };
    for (const [name, identity] of this.openpgp) pgp(`mailbox ${name}: OpenPGP key`, identity.armoredPublicKey);
    for (const p of this.repository.partners()) {
      if (p.format === 'smime') out.push(expiryOf(`partner ${p.name}`, new X509Certificate(p.certificate), now, days));
      else if (p.openpgpKey !== null) pgp(`partner ${p.name}: OpenPGP key`, p.openpgpKey);
    }
    return out;
  }

  /** Reads an OpenPGP key's expiry into the cache (a key that cannot be read is left out of the report; pinning checked it). */
  async #learnPgpExpiry(armored: string): Promise<void> {
    if (this.#pgpExpiry.has(armored)) return;
    try {
      const key = await openpgp.readKey({ armoredKey: armored });
      const expires = await key.getExpirationTime().catch(() => null);
      this.#pgpExpiry.set(armored, { subject: `${key.getUserIDs().join(', ')} (${key.getFingerprint().toUpperCase()})`, expires: expires instanceof Date ? expires : null });
    } catch (err) {
      this.#pgpExpiry.set(armored, { subject: '', expires: null });
      this.#deps.log.warn({ reason: (err as Error).message }, 'cannot read the expiry of an OpenPGP key');
    }
  }

  health(): ComponentHealth {
    const certificates = this.certificates();
    const due = certificates.filter((c) => c.status !== 'ok');
    const inboxes = [...this.inboxes.values()].map((i) => i.report());
    const failing = inboxes.filter((i) => i.lastError !== null);
    const partials = this.partials.counts();
    const overdueSets = this.receivedSets({ incomplete: true, limit: 1000, offset: 0 }).filter((x) => x.overdue);
    const overdueReceipts = this.overdueReceipts();
    const warnings = [
      ...due.map((c) => `${c.owner}: certificate ${c.status === 'expired' ? 'expired' : `expires in ${c.daysLeft} days`} (${c.validTo})`),
      ...failing.map((i) => `mailbox ${i.mailbox}: last poll failed: ${i.lastError}`),
      ...(overdueSets.length > 0 ? [`${overdueSets.length} received set(s) incomplete for more than ${this.#deps.config.setTimeoutHours} h (their mails imported so far are in the archive); see GET /api/v1/mail/sets?incomplete=true`] : []),
      ...(overdueReceipts.length > 0 ? [`${overdueReceipts.length} sent mail(s) without the partner's receipt after ${this.#deps.config.receiptTimeoutHours} h; see GET /api/v1/mail/messages?state=sent`] : []),
      ...(partials.expired > 0 ? [`${partials.expired} message/partial set(s) expired incomplete (nothing imported); see GET /api/v1/mail/partials?state=expired`] : []),
    ];
    return {
      ok: true,
      details: { mailboxes: inboxes.map(({ serverCertificate: _, ...rest }) => rest), certificatesDue: due.length, partialSets: partials },
      ...(warnings.length === 0 ? {} : { warning: warnings.join('; ') }),
    };
  }
}
