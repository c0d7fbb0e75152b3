import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { StoreOutcome } from '../archive/index.ts';
import type { Clock } from '../clock.ts';
import type { GatewayConfig } from '../config/index.ts';
import { MailRepository, type ArchiveRepository, type Database } from '../db/index.ts';
import type { ComponentHealth } from '../health.ts';
import type { AnyJobDefinition, JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import { certificatesOfPem, expiryOf, type CertificateExpiry } from './expiry.ts';
import { loadMailboxes, type Mailbox } from './identity.ts';
import { MailInbox } from './inbox.ts';
import { mailJobs } from './mail-jobs.ts';
import { MailOutbound, type OutboundDeps } from './outbound.ts';
import { Partners } from './partners.ts';

export interface MailRelayDeps {
  config: GatewayConfig['mail'];
  db: Database;
  archive: ArchiveRepository;
  jobs: JobQueue;
  /** The archive and the relay's own directory (`mail/` in the data dir). */
  dirs: { archive: string; mail: string };
  /** Imports one received DICOM file as a C-STORE would be stored (the archive store). */
  importFile: (file: string, source: { callingAeTitle: string; associationId: string }) => Promise<StoreOutcome>;
  clock: Clock;
  log: Logger;
  /** Tests replace the SMTP side. */
  smtp?: OutboundDeps['smtp'];
}

/**
 * The e-mail relay, wired: partners, sending (planned mails with their jobs), a poller per mailbox,
 * and the certificate expiry report. Built before the job queue starts (its job types register then).
 */
export class MailRelay {
  readonly partners: Partners;
  readonly outbound: MailOutbound;
  readonly repository: MailRepository;
  readonly mailboxes: ReadonlyMap<string, Mailbox>;
  readonly inboxes: ReadonlyMap<string, MailInbox>;
  readonly #deps: MailRelayDeps;

  constructor(deps: MailRelayDeps) {
    this.#deps = deps;
    const log = deps.log;
    this.repository = new MailRepository(deps.db);
    this.mailboxes = new Map(loadMailboxes(deps.config.mailboxes).map((m) => [m.config.name, m]));
    this.partners = new Partners({ repository: this.repository, mailboxes: [...this.mailboxes.keys()], clock: deps.clock });
    this.outbound = new MailOutbound({
      db: deps.db,
      mail: this.repository,
      archive: deps.archive,
      partners: this.partners,
      mailboxes: this.mailboxes,
      jobs: deps.jobs,
      archiveDir: deps.dirs.archive,
      outboxDir: path.join(deps.dirs.mail, 'outbox'),
      clock: deps.clock,
      log,
      ...(deps.smtp === undefined ? {} : { smtp: deps.smtp }),
    });
    this.inboxes = new Map(
      [...this.mailboxes.values()].map((mailbox) => [
        mailbox.config.name,
        new MailInbox(
          {
            mailbox,
            mail: this.repository,
            partners: this.partners,
            importFile: deps.importFile,
            inboxDir: path.join(deps.dirs.mail, 'inbox'),
            workDir: path.join(deps.dirs.mail, 'work'),
            maxInboundBytes: deps.config.maxInboundMb * 1024 * 1024,
            maxParts: deps.config.maxParts,
            // A mail without a Message-ID cannot be acknowledged (the receipt names it).
            ...(deps.config.sendReceipts ? { onImported: async (received: { id: number; messageId: string | null }) => (received.messageId === null ? undefined : this.outbound.queueReceipt(received.id)) } : {}),
            clock: deps.clock,
            log,
          },
          mailbox.config.pollSeconds * 1000,
        ),
      ]),
    );
  }

  jobDefinitions(): AnyJobDefinition[] {
    return mailJobs({ outbound: this.outbound, sendAttempts: this.#deps.config.sendAttempts });
  }

  /** For the study-stable job: queue the sends the partners' routing rules ask for. */
  routeStable(tx: DatabaseSync, studyInstanceUid: string): void {
    this.outbound.routeStable(tx, studyInstanceUid);
  }

  start(): void {
    for (const entry of this.certificates()) {
      if (entry.status !== 'ok') this.#deps.log.warn({ owner: entry.owner, validTo: entry.validTo, daysLeft: entry.daysLeft }, entry.status === 'expired' ? 'certificate expired' : 'certificate expires soon');
    }
    for (const inbox of this.inboxes.values()) inbox.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.inboxes.values()].map((i) => i.stop()));
  }

  /** Every certificate the relay relies on, with its expiry: ours, the CAs, the partners', the POP3 servers' as last seen. */
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
    }
    for (const p of this.repository.partners()) out.push(expiryOf(`partner ${p.name}`, new X509Certificate(p.certificate), now, days));
    return out;
  }

  health(): ComponentHealth {
    const certificates = this.certificates();
    const due = certificates.filter((c) => c.status !== 'ok');
    const inboxes = [...this.inboxes.values()].map((i) => i.report());
    const failing = inboxes.filter((i) => i.lastError !== null);
    const warnings = [
      ...due.map((c) => `${c.owner}: certificate ${c.status === 'expired' ? 'expired' : `expires in ${c.daysLeft} days`} (${c.validTo})`),
      ...failing.map((i) => `mailbox ${i.mailbox}: last poll failed: ${i.lastError}`),
    ];
    return {
      ok: true,
      details: { mailboxes: inboxes.map(({ serverCertificate: _, ...rest }) => rest), certificatesDue: due.length },
      ...(warnings.length === 0 ? {} : { warning: warnings.join('; ') }),
    };
  }
}
