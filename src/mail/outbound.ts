import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import { OutboundState, type ArchiveRepository, type Database, type MailRepository, type OutboundDocument, type OutboundMail, type StoredInstance } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import type { Mailbox } from './identity.ts';
import { mailReceiptType, mailRouteType, mailSendType } from './job-types.ts';
import { buildReceipt } from './receipt.ts';
import { documentContextOf } from './document-context.ts';
import { removeDocuments, removeSentDocuments, storeDocuments, type DocumentInput } from './documents.ts';
import { buildMessage, estimateMailSize, type OutgoingDocument } from './message-builder.ts';
import type { Partners, PinnedPartner } from './partners.ts';
import { buildPgpMessage } from './pgp-builder.ts';
import { buildPgpReceipt } from './pgp-receipt.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { probeServer, sendMailFile, type SmtpOutcome } from './smtp.ts';
import { planMails } from './split.ts';
import { maxFragments } from './partial-assembly.ts';
import { writeFragments } from './partial-split.ts';

export interface OutboundDeps {
  db: Database;
  mail: MailRepository;
  archive: ArchiveRepository;
  partners: Partners;
  mailboxes: ReadonlyMap<string, Mailbox>;
  /** Our OpenPGP key pairs by mailbox name (opened at start). */
  openpgp: ReadonlyMap<string, OpenPgpIdentity>;
  jobs: Pick<JobQueue, 'enqueueInTransaction'>;
  archiveDir: string;
  /** Where mails are built before sending (removed once sent). */
  outboxDir: string;
  /** The relay's own directory: PDFs to send are kept under it until their mail is sent. */
  mailDir: string;
  clock: Clock;
  log: Logger;
  /** Injected in tests; the real ones talk to the SMTP server. */
  smtp?: { send: typeof sendMailFile; probe: typeof probeServer };
}

/** What a send is planned from: the PDFs (by their index in the request) and the instances. */
type PlanItem = { kind: 'document'; index: number; size: number } | { kind: 'instance'; instance: StoredInstance; size: number };

/** A send job's result when the mail is not sent (yet): the job layer retries or fails it. */
export class SendFailure extends Error {
  readonly outcome: Exclude<SmtpOutcome, { kind: 'sent' }>;
  constructor(outcome: Exclude<SmtpOutcome, { kind: 'sent' }>) {
    super(outcome.reason);
    this.name = 'SendFailure';
    this.outcome = outcome;
  }
}

/**
 * Sending studies to partners: a send is planned into mails that fit the partner's and the server's
 * limit (whole files each), recorded with one job per mail, each retried on its own.
 */
export class MailOutbound {
  readonly #deps: OutboundDeps;
  /** Mails being built or sent right now (send jobs run in this process): these cannot be cancelled. */
  readonly #inFlight = new Set<number>();
  /** Our SMTP servers' certificates (PEM) by mailbox, as last seen when planning a send. */
  readonly #serverCertificates = new Map<string, string>();

  constructor(deps: OutboundDeps) {
    this.#deps = deps;
  }

  /** The SMTP server's certificate of a mailbox as last seen (PEM), for the expiry report. */
  serverCertificate(mailbox: string): string | undefined {
    return this.#serverCertificates.get(mailbox);
  }

  get #smtp() {
    return this.#deps.smtp ?? { send: sendMailFile, probe: probeServer };
  }

  /**
   * Plans and queues the mails of a study to a partner, with the PDFs given (they go first, so in the
   * first mail unless they need mails of their own); returns the mails.
   */
  async sendStudy(request: { studyInstanceUid: string; partner: string; trigger: 'api' | 'rule'; correlationId?: string; instances?: readonly string[]; documents?: readonly DocumentInput[] }): Promise<OutboundMail[]> {
    const { db, mail, archive, partners, log } = this.#deps;
    const { partner, format } = await partners.find(request.partner);
    const mailbox = this.#deps.mailboxes.get(partner.mailbox);
    if (mailbox === undefined) throw new GatewayError(ErrorCode.Invalid, `the partner's mailbox "${partner.mailbox}" is not configured`, { issues: [{ path: 'partner', message: 'its mailbox is not configured' }] });
    if (format === 'openpgp' && !this.#deps.openpgp.has(mailbox.config.name)) throw new GatewayError(ErrorCode.Invalid, `the partner uses OpenPGP but mailbox "${mailbox.config.name}" has no OpenPGP key`, { issues: [{ path: 'partner', message: `give mailbox ${mailbox.config.name} an OpenPGP key (mail.mailboxes[].openpgp, or PUT /api/v1/mail/mailboxes/${mailbox.config.name})` }] });
    const all = archive.instancesOfStudy(request.studyInstanceUid);
    if (all.length === 0) throw new GatewayError(ErrorCode.NotFound, 'no such study (or it has no instances)');
    const chosen = request.instances === undefined ? undefined : new Set(request.instances);
    const instances = chosen === undefined ? all : all.filter((i) => chosen.has(i.sopInstanceUid));
    if (chosen !== undefined) {
      const known = new Set(all.map((i) => i.sopInstanceUid));
      const unknown = [...chosen].filter((uid) => !known.has(uid));
      if (unknown.length > 0) throw new GatewayError(ErrorCode.Invalid, 'instances not in this study', { issues: unknown.map((uid) => ({ path: 'instances', message: `${uid} is not an instance of this study` })) });
    }
    let limit = partner.maxMailBytes;
    try {
      const probe = await this.#smtp.probe(mailbox);
      if (probe.maxSize !== null) limit = Math.min(limit, probe.maxSize);
      if (probe.certificate !== null) this.#serverCertificates.set(mailbox.config.name, probe.certificate);
    } catch (err) {
      // The server is not reachable now: plan with the partner's limit; the send jobs retry the connection.
      log.warn({ mailbox: mailbox.config.name, err: (err as Error).message }, 'could not ask the SMTP server for its size limit');
    }
    const documentInputs = request.documents ?? [];
    const items: PlanItem[] = [
      ...documentInputs.map((d, i) => ({ kind: 'document' as const, index: i, size: d.content.length })),
      ...instances.map((instance) => ({ kind: 'instance' as const, instance, size: instance.size })),
    ];
    const plan = planMails(items, limit);
    for (const mail of plan.filter((m) => m.fragment)) {
      const item = mail.files[0];
      const size = item?.size ?? 0;
      const what = item?.kind === 'document' ? `document ${item.index + 1}` : `instance ${item?.instance.sopInstanceUid ?? ''}`;
      // Fragments carry a header block each; a set of more than maxFragments is refused by receivers.
      if (estimateMailSize([size]) / Math.max(1, limit - 4096) > maxFragments) {
        throw new GatewayError(ErrorCode.Invalid, `${what} (${size} bytes) needs more than ${maxFragments} message/partial fragments of at most ${limit} bytes`, { issues: [{ path: 'partner', message: `a single file exceeds ${maxFragments} fragments of the mail size limit (${limit} bytes)` }] });
      }
    }
    const sendId = randomUUID();
    const documents = await storeDocuments(this.#deps.mailDir, sendId, documentInputs);
    const now = this.#deps.clock.now().toISOString();
    const domain = mailbox.config.address.split('@')[1] ?? 'localhost';
    const record = (tx: DatabaseSync): number[] =>
      plan.map((planned, i) => {
        const group = planned.files;
        const id = mail.insertOutbound(
          tx,
          {
            sendId,
            partnerId: partner.id,
            partnerName: partner.name,
            recipient: partner.address,
            mailbox: mailbox.config.name,
            studyInstanceUid: request.studyInstanceUid,
            part: i + 1,
            parts: plan.length,
            fragmentLimit: planned.fragment ? limit : null,
            instanceIds: group.flatMap((g) => (g.kind === 'instance' ? [g.instance.id] : [])),
            documents: group.flatMap((g) => (g.kind === 'document' ? [documents[g.index] as OutboundDocument] : [])),
            messageId: `${sendId}.${i + 1}@${domain}`,
            trigger: request.trigger,
          },
          now,
        );
        const job = this.#deps.jobs.enqueueInTransaction(tx, { type: mailSendType, payload: { outboundId: id }, correlationId: request.correlationId ?? sendId });
        mail.setOutboundJob(tx, id, job.id);
        return id;
      });
    let ids: number[];
    try {
      ids = await db.write(record);
    } catch (err) {
      await removeDocuments(this.#deps.mailDir, sendId);
      throw err;
    }
    log.info({ sendId, partner: partner.name, mails: ids.length, instances: instances.length, documents: documents.length, trigger: request.trigger }, 'study queued for sending by e-mail');
    return ids.map((id) => mail.outbound(id) as OutboundMail);
  }

  /**
   * Called in the transaction that completes a study's `study-stable` job: every partner whose rules
   * take the study (by calling AE title or modality) gets a route job, which plans the send.
   */
  routeStable(tx: DatabaseSync, studyInstanceUid: string): void {
    const instances = this.#deps.archive.instancesOfStudy(studyInstanceUid, tx);
    const devices = new Set(instances.map((i) => i.callingAeTitle));
    const modalities = new Set(instances.map((i) => i.modality));
    for (const partner of this.#deps.mail.partners(tx)) {
      const takes = partner.routes.devices.some((d) => devices.has(d)) || partner.routes.modalities.some((m) => modalities.has(m));
      if (!takes) continue;
      this.#deps.jobs.enqueueInTransaction(tx, { type: mailRouteType, key: `mail-route:${studyInstanceUid}:${partner.name}`, payload: { studyInstanceUid, partner: partner.name } });
    }
  }

  /** Puts a failed mail back in the queue. */
  async retry(id: number): Promise<OutboundMail> {
    const { db, mail } = this.#deps;
    const current = mail.outbound(id);
    if (current === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mail');
    if (current.state !== OutboundState.Failed) throw new GatewayError(ErrorCode.Conflict, `the mail is ${current.state}; only failed mails are retried`);
    const now = this.#deps.clock.now().toISOString();
    await db.write((tx) => {
      this.#deps.db.statement("UPDATE mail_outbound SET state = 'queued', last_error = NULL, updated_at = ? WHERE id = ?", tx).run(now, id);
      const job = this.#deps.jobs.enqueueInTransaction(tx, { type: mailSendType, payload: { outboundId: id } });
      mail.setOutboundJob(tx, id, job.id);
    });
    return mail.outbound(id) as OutboundMail;
  }

  /**
   * Stops a mail that is not sent: queued (waiting for a retry, or not tried yet) or failed. Its send
   * job, when it comes, finds it cancelled and sends nothing; its PDFs and any half-sent fragments go.
   * A mail being sent at this moment cannot be stopped (409): its server may already have it.
   */
  async cancel(id: number): Promise<OutboundMail> {
    const { mail, clock, log } = this.#deps;
    const current = mail.outbound(id);
    if (current === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such mail');
    if (current.state !== OutboundState.Queued && current.state !== OutboundState.Failed) throw new GatewayError(ErrorCode.Conflict, `the mail is ${current.state}; only queued or failed mails are cancelled`);
    if (this.#inFlight.has(id)) throw new GatewayError(ErrorCode.Conflict, 'the mail is being sent right now; look again in a moment');
    mail.updateOutbound(id, { state: OutboundState.Cancelled }, clock.now().toISOString());
    const file = path.join(this.#deps.outboxDir, `${id}.eml`);
    await unlink(file).catch(() => undefined);
    await rm(`${file}.fragments`, { recursive: true, force: true });
    await removeSentDocuments(this.#deps.mailDir, current.documents);
    log.info({ outboundId: id, partner: current.partnerName, fragmentsSent: current.fragmentsSent }, 'mail cancelled');
    return mail.outbound(id) as OutboundMail;
  }

  /** Queues our receipt for a received and imported mail (it goes to the partner that sent it). */
  async queueReceipt(inboundId: number): Promise<void> {
    await this.#deps.db.write((tx) => this.#deps.jobs.enqueueInTransaction(tx, { type: mailReceiptType, key: `mail-receipt:${inboundId}`, payload: { inboundId } }));
  }

  /** One attempt at sending a receipt; throws SendFailure when it was not sent. */
  async sendReceipt(inboundId: number): Promise<void> {
    const { mail, partners, clock, log } = this.#deps;
    const row = mail.inboundById(inboundId);
    if (row === undefined || row.messageId === null || row.partnerName === null) throw new SendFailure({ kind: 'permanent', reason: 'nothing to acknowledge (no such mail, no Message-ID or no partner)' });
    let found: PinnedPartner;
    try {
      found = await partners.find(row.partnerName);
    } catch {
      throw new SendFailure({ kind: 'permanent', reason: `partner "${row.partnerName}" no longer exists` });
    }
    const mailbox = this.#deps.mailboxes.get(row.mailbox);
    const partner = found.partner;
    if (mailbox === undefined) throw new SendFailure({ kind: 'permanent', reason: `mailbox "${row.mailbox}" no longer exists (deleted from the config file or through the API)` });
    await mkdir(this.#deps.outboxDir, { recursive: true });
    const file = path.join(this.#deps.outboxDir, `receipt-${inboundId}.eml`);
    const domain = mailbox.config.address.split('@')[1] ?? 'localhost';
    try {
      const ourPgp = this.#deps.openpgp.get(mailbox.config.name);
      const request = { from: mailbox.config.address, to: partner.address, originalMessageId: row.messageId, messageId: `receipt-${randomUUID()}@${domain}`, date: clock.now() };
      if (found.format === 'openpgp' && ourPgp === undefined) throw new SendFailure({ kind: 'permanent', reason: `mailbox "${row.mailbox}" has no OpenPGP key (mail.mailboxes[].openpgp, or the mailbox's openpgp in the API)` });
      await writeFile(file, found.format === 'openpgp' ? await buildPgpReceipt({ ...request, signer: ourPgp as OpenPgpIdentity }) : buildReceipt({ ...request, signer: mailbox.smime }));
      const outcome = await this.#smtp.send(mailbox, file, partner.address);
      if (outcome.kind !== 'sent') throw new SendFailure(outcome);
      log.info({ inboundId, partner: partner.name }, 'receipt sent');
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  /**
   * One attempt at one mail: build it (signed, then encrypted to the partner's pinned certificate)
   * and hand it to our SMTP server. Throws SendFailure when it was not sent.
   */
  async send(outboundId: number, attempt: { last: boolean }): Promise<OutboundMail> {
    const row = this.#deps.mail.outbound(outboundId);
    if (row === undefined) throw new SendFailure({ kind: 'permanent', reason: 'the mail record is gone' });
    if (row.state === OutboundState.Sent || row.state === OutboundState.Cancelled) return row;
    // Marked before the first await: a cancel from now on is refused, one before was seen above.
    this.#inFlight.add(outboundId);
    try {
      return await this.#send(row, attempt);
    } finally {
      this.#inFlight.delete(outboundId);
    }
  }

  async #send(row: OutboundMail, attempt: { last: boolean }): Promise<OutboundMail> {
    const { mail, archive, partners, clock, log } = this.#deps;
    const outboundId = row.id;
    const fail = (outcome: Exclude<SmtpOutcome, { kind: 'sent' }>): never => {
      const final = outcome.kind === 'permanent' || attempt.last;
      mail.updateOutbound(outboundId, { state: final ? OutboundState.Failed : OutboundState.Queued, lastError: outcome.reason, attempt: true }, clock.now().toISOString());
      throw new SendFailure(outcome);
    };
    let found: PinnedPartner;
    try {
      found = await partners.find(row.partnerName);
    } catch {
      return fail({ kind: 'permanent', reason: `partner "${row.partnerName}" no longer exists` });
    }
    const mailbox = this.#deps.mailboxes.get(row.mailbox);
    if (mailbox === undefined) return fail({ kind: 'permanent', reason: `mailbox "${row.mailbox}" no longer exists (deleted from the config file or through the API)` });
    if (found.format === 'smime' && new Date(found.certificate.x509.validTo) <= clock.now()) return fail({ kind: 'permanent', reason: "the partner's certificate has expired" });
    const ourPgp = this.#deps.openpgp.get(mailbox.config.name);
    if (found.format === 'openpgp' && ourPgp === undefined) return fail({ kind: 'permanent', reason: `mailbox "${row.mailbox}" has no OpenPGP key (mail.mailboxes[].openpgp, or the mailbox's openpgp in the API)` });
    const all = new Map(archive.instancesOfStudy(row.studyInstanceUid).map((i) => [i.id, i]));
    const files = [];
    for (const id of row.instanceIds) {
      const instance = all.get(id);
      if (instance === undefined) return fail({ kind: 'permanent', reason: 'an instance of this mail is no longer in the archive' });
      files.push({ path: path.join(this.#deps.archiveDir, instance.path), size: instance.size, sha256: instance.sha256 });
    }
    let documents: OutgoingDocument[] = [];
    if (row.documents.length > 0) {
      const first = all.values().next().value;
      if (first === undefined) return fail({ kind: 'permanent', reason: 'the study is no longer in the archive' });
      // Who and what the PDFs belong to travels with them (inside the encryption), from the study's own header.
      const study = documentContextOf(path.join(this.#deps.archiveDir, first.path));
      documents = row.documents.map((d) => ({ path: path.join(this.#deps.mailDir, d.file), size: d.size, sha256: d.sha256, title: d.title, study }));
    }
    await mkdir(this.#deps.outboxDir, { recursive: true });
    const file = path.join(this.#deps.outboxDir, `${outboundId}.eml`);
    let keep = false;
    try {
      let size: number;
      // A mail cut into fragments is kept until its last fragment is sent: a retry goes on from there.
      const resume = row.fragmentLimit !== null && row.partialId !== null && (await stat(file).catch(() => null)) !== null;
      if (resume) size = (await stat(file)).size;
      else {
        const common = { files, documents, sendId: row.sendId, part: row.part, parts: row.parts, from: mailbox.config.address, to: row.recipient, messageId: row.messageId, date: clock.now(), outPath: file };
        const built =
          found.format === 'openpgp'
            ? await buildPgpMessage({ ...common, signer: ourPgp as OpenPgpIdentity, recipient: found.key, config: found.config })
            : await buildMessage({ ...common, signer: mailbox.smime, recipient: found.certificate });
        size = built.size;
      }
      let outcome: SmtpOutcome;
      if (row.fragmentLimit === null) outcome = await this.#smtp.send(mailbox, file, row.recipient);
      else {
        keep = true;
        outcome = await this.#sendFragments(row, mailbox, file, resume);
        if (outcome.kind === 'sent') keep = false;
      }
      if (outcome.kind !== 'sent') return fail(outcome);
      mail.updateOutbound(outboundId, { state: OutboundState.Sent, size, smtpResponse: outcome.response, sentAt: clock.now().toISOString(), lastError: null, attempt: true }, clock.now().toISOString());
      await removeSentDocuments(this.#deps.mailDir, row.documents).catch((err: unknown) => log.warn({ outboundId, err: (err as Error).message }, 'could not remove the sent PDFs'));
      log.info({ outboundId, partner: row.partnerName, part: row.part, parts: row.parts, size, fragments: mail.outbound(outboundId)?.fragments ?? undefined }, 'mail sent');
      return mail.outbound(outboundId) as OutboundMail;
    } catch (err) {
      if (err instanceof SendFailure) throw err;
      // Building failed (a file unreadable, the disk full): recorded like a transient send failure.
      keep = false;
      return fail({ kind: 'transient', reason: `the mail could not be built: ${(err as Error).message}` });
    } finally {
      if (!keep) {
        await unlink(file).catch(() => undefined);
        await rm(`${file}.fragments`, { recursive: true, force: true });
      }
    }
  }

  /**
   * Sends a built mail as message/partial fragments (RFC 2046 5.2.2), each within the limit, in
   * order; records each one sent, so that a retry sends only the rest (of the same set).
   */
  async #sendFragments(row: OutboundMail, mailbox: Mailbox, file: string, resume: boolean): Promise<SmtpOutcome> {
    const { mail, clock } = this.#deps;
    const dir = `${file}.fragments`;
    await mkdir(dir, { recursive: true });
    const domain = mailbox.config.address.split('@')[1] ?? 'localhost';
    const partialId = resume && row.partialId !== null ? row.partialId : `${randomUUID()}@${domain}`;
    const fragments = await writeFragments({ mailPath: file, limit: row.fragmentLimit as number, partialId, from: mailbox.config.address, to: row.recipient, messageId: row.messageId, date: clock.now(), set: { setId: row.sendId, part: row.part, parts: row.parts }, outDir: dir });
    let from = 0;
    if (resume && row.fragments === fragments.length) from = row.fragmentsSent;
    else mail.setFragments(row.id, partialId, fragments.length, clock.now().toISOString());
    let last: SmtpOutcome = { kind: 'transient', reason: 'no fragment' };
    for (let i = from; i < fragments.length; i++) {
      last = await this.#smtp.send(mailbox, fragments[i] as string, row.recipient);
      if (last.kind !== 'sent') return last;
      mail.fragmentSent(row.id, i + 1, clock.now().toISOString());
    }
    return last;
  }
}
