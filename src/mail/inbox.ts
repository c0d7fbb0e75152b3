import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { StoreOutcome } from '../archive/index.ts';
import type { Clock } from '../clock.ts';
import { InboundState, PartialState, type InboundMail, type MailPartialRepository, type MailRepository, type PartialSet } from '../db/index.ts';
import { ErrorCode, GatewayError, isGatewayError } from '../domain/errors.ts';
import { fsyncFile } from '../group-fsync.ts';
import type { Logger } from '../log.ts';
import { Poller } from '../poller.ts';
import type { Mailbox } from './identity.ts';
import { readMailHeaders, readMessage } from './message-reader.ts';
import { readReceipt } from './receipt.ts';
import type { Partners, PinnedPartner } from './partners.ts';
import { readPgpReceipt } from './pgp-receipt.ts';
import { assemble, isWhole, readFragmentHeader } from './partial-assembly.ts';
import type { OpenPgpIdentity } from './pgp-identity.ts';
import { writeDocumentInstance } from './received-document.ts';
import { readPgpMessage, type PgpReadOutcome } from './pgp-reader.ts';
import { Pop3Client, type Pop3Options } from './pop3-client.ts';

export interface InboxDeps {
  mailbox: Mailbox;
  /** Our OpenPGP key pairs by mailbox name (opened at start). */
  openpgp: ReadonlyMap<string, OpenPgpIdentity>;
  mail: MailRepository;
  partners: Partners;
  /** Imports one received DICOM file the way a C-STORE is stored. */
  importFile: (file: string, source: { callingAeTitle: string; associationId: string }) => Promise<StoreOutcome>;
  /** Written into the instances we make of received PDFs (Part 10 meta information). */
  implementation: { classUid: string; versionName: string };
  /** Raw mails are kept here (the record of what arrived, quarantined ones included). */
  inboxDir: string;
  /** Decrypted content and decoded files while a mail is handled. */
  workDir: string;
  maxInboundBytes: number;
  maxParts: number;
  /** Received message/partial sets. */
  partials: MailPartialRepository;
  /** A message/partial set not whole within this time expires (nothing of it is imported). */
  partialTimeoutMs: number;
  /** A received set still missing mails after this long is reported in the log (once). */
  setTimeoutMs?: number;
  /** Called for each mail of a set once the whole set is imported (the relay queues the receipts to the partner). */
  onImported?: (mail: InboundMail) => Promise<void>;
  clock: Clock;
  log: Logger;
  connect?: (options: Pop3Options) => Promise<Pop3Client>;
}

export interface InboxReport {
  mailbox: string;
  /** The POP3 server's certificate as last seen (PEM), for the expiry report. */
  serverCertificate: string | null;
  lastPoll: string | null;
  lastError: string | null;
  imported: number;
  quarantined: number;
}

const handled: readonly string[] = [InboundState.Imported, InboundState.Quarantined, InboundState.Duplicate, InboundState.Receipt, InboundState.Fragment];

/**
 * Collects one mailbox over POP3S. Each mail is first stored durably (file fsync'd and renamed, then
 * recorded), then opened (decrypted, verified against the pinned partner, manifest checked) and its
 * DICOM files imported like C-STOREs; only a mail fully handled (imported, quarantined or a
 * duplicate) is deleted from the server. A crash anywhere leaves the mail on the server or on disk
 * with its record, and a mail already handled is never imported again: UIDLs and Message-IDs are
 * remembered, and SOP Instance UIDs already stored count as duplicates.
 */
export class MailInbox {
  readonly #deps: InboxDeps;
  readonly #poller: Poller<InboxReport>;
  #report: InboxReport;
  /** Incomplete sets already reported in the log. */
  readonly #alerted = new Set<string>();
  /** Set by a session that went through but left mails it could not handle. */
  #sessionError: string | null = null;
  /** Polls and reprocessing take turns: a mail is never handled by both at once. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(deps: InboxDeps, pollMs: number) {
    this.#deps = deps;
    this.#report = { mailbox: deps.mailbox.config.name, serverCertificate: null, lastPoll: null, lastError: null, imported: 0, quarantined: 0 };
    this.#poller = new Poller(deps.clock, pollMs, () => this.#exclusive(() => this.#poll()));
  }

  start(): void {
    this.#poller.start();
  }

  stop(): Promise<void> {
    return this.#poller.stop();
  }

  report(): InboxReport {
    return { ...this.#report };
  }

  /** One poll now (or the one under way). */
  poll(): Promise<InboxReport> {
    return this.#poller.run();
  }

  /**
   * Opens a quarantined mail again (kept on disk as it came), once the admin has fixed what it failed
   * on: a partner added, a certificate or key renewed, an exception granted. It is imported, or
   * quarantined again with the reason of now; in the set and receipt bookkeeping as if it just came.
   */
  reprocess(id: number): Promise<InboundMail> {
    return this.#exclusive(async () => {
      const { mail, mailbox, clock, log } = this.#deps;
      const row = mail.inboundById(id);
      if (row === undefined || row.mailbox !== mailbox.config.name) throw new GatewayError(ErrorCode.NotFound, 'no such received mail in this mailbox');
      // A stored mail already off the server is one a reprocess left unfinished (the gateway stopped):
      // no poll will see it again, so it may be taken up here.
      const unfinished = row.state === InboundState.Stored && row.deletedAt !== null;
      if (row.state !== InboundState.Quarantined && !unfinished) throw new GatewayError(ErrorCode.Conflict, `the mail is ${row.state}; only quarantined mails are reprocessed`);
      if (row.rawPath === null || !(await stat(row.rawPath).then(() => true, () => false))) throw new GatewayError(ErrorCode.Conflict, 'the mail as it came is no longer on disk');
      log.info({ mailbox: mailbox.config.name, inboundId: id, previousReason: row.reason }, 'quarantined mail reprocessed');
      mail.updateInbound(id, { state: InboundState.Stored, reason: null }, clock.now().toISOString());
      if (!unfinished) this.#report.quarantined = Math.max(0, this.#report.quarantined - 1);
      let handledRow: InboundMail;
      try {
        handledRow = await this.#handle({ ...row, state: InboundState.Stored });
      } catch (err) {
        // Not handled now (the disk full, ...): back to where it was, with the reason of now.
        mail.updateInbound(id, { state: InboundState.Quarantined, reason: `reprocessing failed: ${(err as Error).message}` }, clock.now().toISOString());
        this.#report.quarantined++;
        throw err;
      }
      // Off the server already: what was imported lives in the archive now, as after a poll.
      if (handledRow.state !== InboundState.Quarantined && handledRow.state !== InboundState.Fragment && handledRow.deletedAt !== null && handledRow.rawPath !== null) {
        await unlink(handledRow.rawPath).catch(() => undefined);
        mail.updateInbound(id, { rawPath: null }, clock.now().toISOString());
      }
      return mail.inboundById(id) as InboundMail;
    });
  }

  #exclusive<T>(step: () => Promise<T>): Promise<T> {
    const next = this.#turn.then(step);
    this.#turn = next.catch(() => undefined);
    return next;
  }

  async #poll(): Promise<InboxReport> {
    const { mailbox, log } = this.#deps;
    this.#sessionError = null;
    try {
      await this.#session();
      this.#report.lastError = this.#sessionError;
    } catch (err) {
      this.#report.lastError = (err as Error).message;
      log.warn({ mailbox: mailbox.config.name, err: (err as Error).message }, 'mailbox poll failed');
    }
    this.#report.lastPoll = this.#deps.clock.now().toISOString();
    return this.report();
  }

  async #session(): Promise<void> {
    const { mailbox, mail, clock, log } = this.#deps;
    const cfg = mailbox.config;
    const connect = this.#deps.connect ?? ((o: Pop3Options) => Pop3Client.connect(o));
    const client = await connect({ host: cfg.pop3.host, port: cfg.pop3.port, user: cfg.pop3.user, password: cfg.pop3.password, cert: mailbox.tls.cert, key: mailbox.tls.key, ca: mailbox.tls.ca });
    const deleted: number[] = [];
    const failures: string[] = [];
    this.#report.serverCertificate = client.serverCertificate?.toString() ?? null;
    try {
      const sizes = await client.list();
      for (const { number, uid } of await client.uidl()) {
        if (this.#poller.stopped) break;
        let row = mail.inbound(cfg.name, uid);
        const size = sizes.get(number) ?? 0;
        if (row === undefined) {
          if (size > this.#deps.maxInboundBytes) {
            mail.insertInbound({ mailbox: cfg.name, uidl: uid, state: InboundState.TooLarge, rawPath: null, size, reason: `larger than mail.maxInboundMb (${size} bytes); left on the server` }, clock.now().toISOString());
            log.warn({ mailbox: cfg.name, size }, 'received mail too large: left on the server');
            continue;
          }
          row = await this.#download(client, number, uid);
        }
        if (row.state === InboundState.Stored) {
          try {
            row = await this.#handle(row);
          } catch (err) {
            // Stays stored, on disk and on the server, and is tried again at the next poll; the others go on.
            failures.push((err as Error).message);
            log.error({ mailbox: cfg.name, inboundId: row.id, err: (err as Error).message }, 'received mail could not be handled; tried again at the next poll');
            continue;
          }
        }
        if (handled.includes(row.state)) {
          await client.delete(number);
          deleted.push(row.id);
        }
      }
      await client.quit();
      if (failures.length > 0) this.#sessionError = `${failures.length} mail(s) could not be handled: ${failures[0]}`;
    } catch (err) {
      client.close();
      throw err;
    }
    // RFC 1939: deletions take effect at QUIT; a session that breaks before leaves the mails (handled: deleted next time).
    const now = clock.now().toISOString();
    for (const id of deleted) {
      mail.updateInbound(id, { deletedAt: now }, now);
      // What was imported lives in the archive now; a quarantined mail is kept as it came, for the admin.
      const row = mail.inboundById(id);
      // A fragment's raw mail is kept until its set is put together (or expires).
      if (row !== undefined && row.state !== InboundState.Quarantined && row.state !== InboundState.Fragment && row.rawPath !== null) {
        await unlink(row.rawPath).catch(() => undefined);
        mail.updateInbound(id, { rawPath: null }, now);
      }
    }
    await this.#partials();
  }

  /**
   * message/partial sets of this mailbox: whole ones are assembled and handled (also after a crash
   * between the steps), and those still not whole after the timeout expire, said in the log.
   */
  async #partials(): Promise<void> {
    const { mailbox, mail, partials, clock, log } = this.#deps;
    const name = mailbox.config.name;
    for (const set of partials.waiting(name)) if (isWhole(set)) await this.#assemble(set);
    for (const row of mail.assembledStored(name)) await this.#handleAssembled(row);
    const now = clock.now();
    const setCutoff = new Date(now.getTime() - (this.#deps.setTimeoutMs ?? 86_400_000)).toISOString();
    for (const set of mail.receivedSets({ incomplete: true, limit: 1000, offset: 0 })) {
      const key = `${set.mailbox} ${set.sender} ${set.setId}`;
      if (set.mailbox !== name || set.firstAt >= setCutoff || this.#alerted.has(key)) continue;
      this.#alerted.add(key);
      log.warn({ mailbox: name, sender: set.sender, set: set.setId, imported: set.imported, parts: set.parts, since: set.firstAt }, 'received set still incomplete after the timeout: the study may be missing images');
    }
    for (const set of partials.expire(name, new Date(now.getTime() - this.#deps.partialTimeoutMs).toISOString(), now.toISOString())) {
      log.warn({ mailbox: name, partialSet: set.id, sender: set.sender, received: set.received, total: set.total }, 'message/partial set expired incomplete: nothing of it imported');
    }
  }

  async #assemble(set: PartialSet): Promise<void> {
    const { mailbox, mail, partials, clock, log } = this.#deps;
    const result = await assemble({ mail, partials, dir: path.join(this.#deps.inboxDir, mailbox.config.name), maxBytes: this.#deps.maxInboundBytes, now: clock.now().toISOString() }, set);
    if ('refused' in result) {
      partials.expireNow(set.id, clock.now().toISOString());
      log.warn({ mailbox: mailbox.config.name, partialSet: set.id, reason: result.refused }, 'message/partial set refused');
      return;
    }
    log.info({ mailbox: mailbox.config.name, partialSet: set.id, fragments: set.total, inboundId: result.id }, 'message/partial set reassembled');
    if (result.state === InboundState.Stored) await this.#handleAssembled(result);
  }

  /**
   * Handles a reassembled mail; once it is imported, its fragments' raw mails are of no more use
   * (the reassembled one is what the import read) and go. A quarantined one keeps them for the admin.
   */
  async #handleAssembled(row: InboundMail): Promise<void> {
    const { mail, partials, clock } = this.#deps;
    const handled = await this.#handle(row);
    if (handled.state !== InboundState.Imported) return;
    const set = partials.byAssembledInbound(row.id);
    if (set === undefined) return;
    const now = clock.now().toISOString();
    for (const fragment of partials.fragments(set.id)) {
      await unlink(fragment.rawPath).catch(() => undefined);
      if (mail.inboundById(fragment.inboundId)?.rawPath !== null) mail.updateInbound(fragment.inboundId, { rawPath: null }, now);
    }
  }

  /** A message/partial fragment: recorded with its set; the set is assembled once whole. */
  async #fragment(row: InboundMail, found: PinnedPartner | undefined, sender: string | null): Promise<InboundMail> {
    const { mailbox, mail, partials, clock, log } = this.#deps;
    const now = clock.now().toISOString();
    if (found === undefined || sender === null) {
      mail.updateInbound(row.id, { state: InboundState.Quarantined, reason: 'a message/partial fragment from an unknown sender: no partner has this address' }, now);
      this.#report.quarantined++;
      return mail.inboundById(row.id) as InboundMail;
    }
    let header: Awaited<ReturnType<typeof readFragmentHeader>>;
    try {
      header = await readFragmentHeader(row.rawPath as string);
    } catch (err) {
      mail.updateInbound(row.id, { state: InboundState.Quarantined, reason: (err as Error).message }, now);
      this.#report.quarantined++;
      return mail.inboundById(row.id) as InboundMail;
    }
    const { set, added } = partials.addFragment({ mailbox: mailbox.config.name, sender, partialId: header.partialId, total: header.total, fragment: { number: header.number, inboundId: row.id, rawPath: row.rawPath as string, bodyStart: header.bodyStart } }, now);
    if (!added) {
      mail.updateInbound(row.id, { state: InboundState.Duplicate, reason: `fragment ${header.number} of message/partial set ${set.id} was received before` }, now);
      return mail.inboundById(row.id) as InboundMail;
    }
    mail.updateInbound(row.id, { state: InboundState.Fragment, reason: `fragment ${header.number}/${set.total ?? '?'} of message/partial set ${set.id} (${set.received} received)` }, now);
    log.info({ mailbox: mailbox.config.name, inboundId: row.id, partialSet: set.id, number: header.number, total: set.total, received: set.received }, 'message/partial fragment stored');
    if (set.state === PartialState.Expired) log.warn({ partialSet: set.id }, 'a fragment of an expired message/partial set arrived: the set stays expired');
    // Assembled after this mail is recorded as handled (deleted from the server with the others), at the session's end.
    return mail.inboundById(row.id) as InboundMail;
  }

  async #download(client: Pop3Client, number: number, uid: string): Promise<InboundMail> {
    const { mailbox, mail, clock } = this.#deps;
    const dir = path.join(this.#deps.inboxDir, mailbox.config.name);
    await mkdir(dir, { recursive: true });
    // UIDLs are the server's text: never a file name as they are.
    const name = `${createHash('sha256').update(uid).digest('hex').slice(0, 32)}.eml`;
    const file = path.join(dir, name);
    const handle = await open(`${file}.part`, 'w');
    let size: number;
    try {
      size = await client.retrieve(number, async (chunk) => {
        await handle.write(chunk);
      }, this.#deps.maxInboundBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(`${file}.part`, file);
    await fsyncFile(dir);
    return mail.insertInbound({ mailbox: mailbox.config.name, uidl: uid, state: InboundState.Stored, rawPath: file, size }, clock.now().toISOString());
  }

  async #receipt(row: InboundMail, found: PinnedPartner | undefined): Promise<InboundMail> {
    const { mailbox, mail, clock, log } = this.#deps;
    const now = clock.now().toISOString();
    const outcome =
      found === undefined
        ? { kind: 'quarantine' as const, reason: 'unknown sender: no partner has this address' }
        : found.format === 'openpgp'
          ? await readPgpReceipt(row.rawPath as string, found)
          : await readReceipt(row.rawPath as string, found.certificate, clock.now());
    if (outcome.kind === 'quarantine') {
      mail.updateInbound(row.id, { state: InboundState.Quarantined, reason: outcome.reason }, now);
      this.#report.quarantined++;
      log.warn({ mailbox: mailbox.config.name, inboundId: row.id, reason: outcome.reason }, 'received mail quarantined');
    } else {
      const known = mail.acknowledge((found as NonNullable<typeof found>).partner.address, outcome.originalMessageId, now);
      mail.updateInbound(row.id, { state: InboundState.Receipt, reason: known ? null : 'acknowledges a mail we do not know' }, now);
      log.info({ mailbox: mailbox.config.name, inboundId: row.id, partner: found?.partner.name, known }, 'receipt received');
    }
    return mail.inboundById(row.id) as InboundMail;
  }

  /** Opens a stored mail and imports what it holds; returns the updated record. */
  async #handle(row: InboundMail): Promise<InboundMail> {
    const { mailbox, mail, partners, clock, log } = this.#deps;
    const now = (): string => clock.now().toISOString();
    const headers = await readMailHeaders(row.rawPath as string);
    const found = headers.from === null ? undefined : await partners.byAddress(headers.from);
    mail.updateInbound(row.id, { messageId: headers.messageId, sender: headers.from, partnerName: found?.partner.name ?? null }, now());
    if (headers.messageId !== null && mail.importedWithMessageId(mailbox.config.name, headers.messageId, row.id) !== undefined) {
      mail.updateInbound(row.id, { state: InboundState.Duplicate, reason: 'a mail with this Message-ID was imported before' }, now());
      log.info({ mailbox: mailbox.config.name, inboundId: row.id }, 'received mail is a duplicate (Message-ID)');
      return mail.inboundById(row.id) as InboundMail;
    }
    // Signed but not encrypted: only a partner's receipt for a mail of ours may come so.
    if (headers.contentType === 'multipart/signed') return this.#receipt(row, found);
    if (headers.contentType === 'message/partial') return this.#fragment(row, found, headers.from);
    const workDir = path.join(this.#deps.workDir, `inbound-${row.id}`);
    await rm(workDir, { recursive: true, force: true });
    try {
      const ourPgp = this.#deps.openpgp.get(mailbox.config.name);
      const limits = { maxParts: this.#deps.maxParts, maxContentBytes: this.#deps.maxInboundBytes };
      let outcome: PgpReadOutcome;
      if (found?.format === 'openpgp') {
        outcome =
          ourPgp === undefined
            ? { kind: 'quarantine', reason: `the partner uses OpenPGP but mailbox ${mailbox.config.name} has no OpenPGP key` }
            : await readPgpMessage({ rawPath: row.rawPath as string, workDir, ours: ourPgp, partner: { key: found.key, config: found.config, inlinePgp: found.partner.legacy.inlinePgp }, limits });
      } else {
        outcome = await readMessage({ rawPath: row.rawPath as string, workDir, ours: mailbox.smime, partnerCertificate: found?.certificate, now: clock.now(), limits });
      }
      if (outcome.legacyUsed !== undefined) log.warn({ mailbox: mailbox.config.name, inboundId: row.id, partner: found?.partner.name, legacy: outcome.legacyUsed }, 'accepted under the partner\'s legacy OpenPGP exception');
      if (outcome.kind === 'quarantine') {
        mail.updateInbound(row.id, { state: InboundState.Quarantined, reason: outcome.reason }, now());
        this.#report.quarantined++;
        log.warn({ mailbox: mailbox.config.name, inboundId: row.id, sender: headers.from, reason: outcome.reason }, 'received mail quarantined');
        return mail.inboundById(row.id) as InboundMail;
      }
      let stored = 0;
      let duplicates = 0;
      // PDFs sent with the study join it as Encapsulated PDF instances, imported like the rest.
      const documents = [];
      const failures: string[] = [];
      for (const doc of outcome.documents) {
        const file = `${doc.path}.dcm`;
        try {
          await writeDocumentInstance(doc, file, { now: clock.now(), implementation: this.#deps.implementation });
          documents.push({ name: doc.name, path: file });
        } catch (err) {
          // The disk (an errno): the mail stays stored and is tried again, as for an import. A PDF we
          // cannot make an instance of is named like a file that failed to import.
          if (/^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code ?? ''))) throw err;
          log.warn({ mailbox: mailbox.config.name, inboundId: row.id, document: doc.name, err: (err as Error).message }, 'a received PDF could not be made an Encapsulated PDF instance');
          failures.push(`${doc.name}: cannot be made an Encapsulated PDF instance`);
        }
      }
      for (const file of [...outcome.files, ...documents]) {
        try {
          const result = await this.#deps.importFile(file.path, { callingAeTitle: '', associationId: `mail-${row.id}` });
          if (result.kind === 'duplicate') duplicates++;
          else stored++;
        } catch (err) {
          // Out of space and the like: the mail stays stored and is tried again at the next poll.
          if (isGatewayError(err) && err.code === 'unavailable') throw err;
          failures.push(`${file.name}: ${isGatewayError(err) ? (err.publicDetail ?? err.code) : 'cannot be imported'}`);
        }
      }
      const state = failures.length === 0 ? InboundState.Imported : InboundState.Quarantined;
      const set = { setId: outcome.manifest.sendId, setPart: outcome.manifest.part, setParts: outcome.manifest.parts };
      mail.updateInbound(row.id, { state, reason: failures.length === 0 ? null : `not imported: ${failures.join('; ')}`, files: outcome.files.length + outcome.documents.length, stored, duplicates, ...set }, now());
      if (state === InboundState.Imported) this.#report.imported++;
      else this.#report.quarantined++;
      const updated = mail.inboundById(row.id) as InboundMail;
      if (state === InboundState.Imported && updated.sender !== null) {
        // Each part is imported as it comes (an emergency need not wait); receipts only for a whole set.
        const parts = mail.importedOfSet(mailbox.config.name, updated.sender, set.setId);
        if (parts.length >= set.setParts) {
          log.info({ mailbox: mailbox.config.name, partner: found?.partner.name, set: set.setId, parts: set.setParts }, 'received set complete');
          for (const part of parts) await this.#deps.onImported?.(part).catch((err: unknown) => log.warn({ inboundId: part.id, err: (err as Error).message }, 'could not queue the receipt'));
        } else log.info({ mailbox: mailbox.config.name, partner: found?.partner.name, set: set.setId, imported: parts.length, parts: set.setParts }, 'received set incomplete: waiting for its other mails');
      }
      log.info({ mailbox: mailbox.config.name, inboundId: row.id, partner: found?.partner.name, files: outcome.files.length, documents: outcome.documents.length, stored, duplicates, failed: failures.length }, 'received mail imported');
      return updated;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
