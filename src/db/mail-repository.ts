import type { DatabaseSync } from 'node:sqlite';
import type { Database } from './database.ts';

export interface MailPartner {
  id: number;
  name: string;
  address: string;
  /** `smime`: the pinned certificate is `certificate`; `openpgp`: the pinned key is `openpgpKey` (certificate empty). */
  format: MailFormat;
  certificate: string;
  openpgpKey: string | null;
  /** Exceptions to the strict OpenPGP rules granted to this partner. */
  legacy: { sha1: boolean; oldKeyTypes: boolean; inlinePgp: boolean };
  mailbox: string;
  maxMailBytes: number;
  routes: { devices: string[]; modalities: string[] };
  createdAt: string;
  updatedAt: string;
}

export type NewPartner = Omit<MailPartner, 'id' | 'createdAt' | 'updatedAt'>;

export const MailFormat = { Smime: 'smime', OpenPgp: 'openpgp' } as const;
export type MailFormat = (typeof MailFormat)[keyof typeof MailFormat];

/** cancelled: stopped by the admin before it was sent (never sent afterwards). */
export const OutboundState = { Queued: 'queued', Sent: 'sent', Failed: 'failed', Acknowledged: 'acknowledged', Cancelled: 'cancelled' } as const;
export type OutboundState = (typeof OutboundState)[keyof typeof OutboundState];

export const InboundState = { Stored: 'stored', Imported: 'imported', Quarantined: 'quarantined', Duplicate: 'duplicate', TooLarge: 'too_large', Receipt: 'receipt', Fragment: 'fragment' } as const;
export type InboundState = (typeof InboundState)[keyof typeof InboundState];

/** A PDF sent with a study: its part name in the mail, the title the sender gave it, and the stored file. */
export interface OutboundDocument {
  name: string;
  title: string;
  /** Relative to the relay's directory; removed once the mail is sent. */
  file: string;
  size: number;
  sha256: string;
}

export interface OutboundMail {
  id: number;
  sendId: string;
  partnerName: string;
  recipient: string;
  mailbox: string;
  studyInstanceUid: string;
  part: number;
  parts: number;
  instanceIds: number[];
  /** PDF documents sent with the study in this mail. */
  documents: OutboundDocument[];
  messageId: string;
  trigger: 'api' | 'rule';
  state: OutboundState;
  size: number | null;
  attempts: number;
  lastError: string | null;
  smtpResponse: string | null;
  jobId: number | null;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  acknowledgedAt: string | null;
  /** Set when the mail (one object over the limit) goes as message/partial fragments of at most this size. */
  fragmentLimit: number | null;
  /** The id of the fragments' set, once built; fragments of it and how many of them are sent. */
  partialId: string | null;
  fragments: number | null;
  fragmentsSent: number;
}

export interface InboundMail {
  id: number;
  mailbox: string;
  uidl: string;
  messageId: string | null;
  sender: string | null;
  partnerName: string | null;
  state: InboundState;
  reason: string | null;
  rawPath: string | null;
  size: number;
  files: number | null;
  stored: number | null;
  duplicates: number | null;
  receivedAt: string;
  updatedAt: string;
  deletedAt: string | null;
  /** The send this mail is part of (from its signed manifest), its part and the set's size. */
  setId: string | null;
  setPart: number | null;
  setParts: number | null;
}

/** A set (one send of a partner, possibly several mails) as received: parts imported of the whole. */
export interface ReceivedSet {
  mailbox: string;
  sender: string;
  setId: string;
  parts: number;
  imported: number;
  firstAt: string;
  lastAt: string;
  complete: boolean;
}

type Row = Record<string, unknown>;

const noLegacy: MailPartner['legacy'] = { sha1: false, oldKeyTypes: false, inlinePgp: false };

function toPartner(r: Row): MailPartner {
  return {
    id: r.id as number,
    name: r.name as string,
    address: r.address as string,
    format: r.format as MailFormat,
    certificate: r.certificate as string,
    openpgpKey: r.openpgp_key as string | null,
    // Rows written before an exception existed lack it: off.
    legacy: { ...noLegacy, ...(JSON.parse(r.legacy as string) as Partial<MailPartner['legacy']>) },
    mailbox: r.mailbox as string,
    maxMailBytes: r.max_mail_bytes as number,
    routes: { devices: JSON.parse(r.route_devices as string) as string[], modalities: JSON.parse(r.route_modalities as string) as string[] },
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toOutbound(r: Row): OutboundMail {
  return {
    id: r.id as number,
    sendId: r.send_id as string,
    partnerName: r.partner_name as string,
    recipient: r.recipient as string,
    mailbox: r.mailbox as string,
    studyInstanceUid: r.study_instance_uid as string,
    part: r.part as number,
    parts: r.parts as number,
    instanceIds: JSON.parse(r.instance_ids as string) as number[],
    documents: JSON.parse(r.documents as string) as OutboundDocument[],
    messageId: r.message_id as string,
    trigger: r.trigger as 'api' | 'rule',
    state: r.state as OutboundState,
    size: r.size as number | null,
    attempts: r.attempts as number,
    lastError: r.last_error as string | null,
    smtpResponse: r.smtp_response as string | null,
    jobId: r.job_id as number | null,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    sentAt: r.sent_at as string | null,
    acknowledgedAt: r.acknowledged_at as string | null,
    fragmentLimit: r.fragment_limit as number | null,
    partialId: r.partial_id as string | null,
    fragments: r.fragments as number | null,
    fragmentsSent: r.fragments_sent as number,
  };
}

function toInbound(r: Row): InboundMail {
  return {
    id: r.id as number,
    mailbox: r.mailbox as string,
    uidl: r.uidl as string,
    messageId: r.message_id as string | null,
    sender: r.sender as string | null,
    partnerName: r.partner_name as string | null,
    state: r.state as InboundState,
    reason: r.reason as string | null,
    rawPath: r.raw_path as string | null,
    size: r.size as number,
    files: r.files as number | null,
    stored: r.stored as number | null,
    duplicates: r.duplicates as number | null,
    receivedAt: r.received_at as string,
    updatedAt: r.updated_at as string,
    deletedAt: r.deleted_at as string | null,
    setId: r.set_id as string | null,
    setPart: r.set_part as number | null,
    setParts: r.set_parts as number | null,
  };
}

/** Partners, and the mails sent and received. */
export class MailRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  partners(tx: DatabaseSync = this.#db.sqlite): MailPartner[] {
    return (this.#db.statement('SELECT * FROM mail_partners ORDER BY name', tx).all() as Row[]).map(toPartner);
  }

  partner(name: string): MailPartner | undefined {
    const row = this.#db.statement('SELECT * FROM mail_partners WHERE name = ?').get(name) as Row | undefined;
    return row === undefined ? undefined : toPartner(row);
  }

  partnerByAddress(address: string): MailPartner | undefined {
    const row = this.#db.statement('SELECT * FROM mail_partners WHERE address = ? COLLATE NOCASE').get(address) as Row | undefined;
    return row === undefined ? undefined : toPartner(row);
  }

  insertPartner(p: NewPartner, now: string): MailPartner {
    this.#db
      .statement('INSERT INTO mail_partners (name, address, format, certificate, openpgp_key, legacy, mailbox, max_mail_bytes, route_devices, route_modalities, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(p.name, p.address, p.format, p.certificate, p.openpgpKey, JSON.stringify(p.legacy), p.mailbox, p.maxMailBytes, JSON.stringify(p.routes.devices), JSON.stringify(p.routes.modalities), now, now);
    return this.partner(p.name) as MailPartner;
  }

  updatePartner(name: string, p: NewPartner, now: string): MailPartner | undefined {
    const changes = this.#db
      .statement('UPDATE mail_partners SET name = ?, address = ?, format = ?, certificate = ?, openpgp_key = ?, legacy = ?, mailbox = ?, max_mail_bytes = ?, route_devices = ?, route_modalities = ?, updated_at = ? WHERE name = ?')
      .run(p.name, p.address, p.format, p.certificate, p.openpgpKey, JSON.stringify(p.legacy), p.mailbox, p.maxMailBytes, JSON.stringify(p.routes.devices), JSON.stringify(p.routes.modalities), now, name).changes;
    return Number(changes) === 0 ? undefined : this.partner(p.name);
  }

  deletePartner(name: string): boolean {
    return Number(this.#db.statement('DELETE FROM mail_partners WHERE name = ?').run(name).changes) > 0;
  }

  insertOutbound(
    tx: DatabaseSync,
    m: Omit<OutboundMail, 'id' | 'state' | 'size' | 'attempts' | 'lastError' | 'smtpResponse' | 'jobId' | 'createdAt' | 'updatedAt' | 'sentAt' | 'acknowledgedAt' | 'fragmentLimit' | 'partialId' | 'fragments' | 'fragmentsSent' | 'documents'> & { partnerId: number; fragmentLimit?: number | null; documents?: OutboundDocument[] },
    now: string,
  ): number {
    const result = this.#db
      .statement(
        'INSERT INTO mail_outbound (send_id, partner_ref, partner_name, recipient, mailbox, study_instance_uid, part, parts, instance_ids, documents, message_id, trigger, state, fragment_limit, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        tx,
      )
      .run(m.sendId, m.partnerId, m.partnerName, m.recipient, m.mailbox, m.studyInstanceUid, m.part, m.parts, JSON.stringify(m.instanceIds), JSON.stringify(m.documents ?? []), m.messageId, m.trigger, OutboundState.Queued, m.fragmentLimit ?? null, now, now);
    return Number(result.lastInsertRowid);
  }

  setOutboundJob(tx: DatabaseSync, id: number, jobId: number): void {
    this.#db.statement('UPDATE mail_outbound SET job_id = ? WHERE id = ?', tx).run(jobId, id);
  }

  outbound(id: number): OutboundMail | undefined {
    const row = this.#db.statement('SELECT * FROM mail_outbound WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : toOutbound(row);
  }

  listOutbound(q: { state?: OutboundState; partner?: string; study?: string; limit: number; offset: number }): OutboundMail[] {
    const rows = this.#db
      .statement('SELECT * FROM mail_outbound WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR partner_name = ?2) AND (?3 IS NULL OR study_instance_uid = ?3) ORDER BY id DESC LIMIT ?4 OFFSET ?5')
      .all(q.state ?? null, q.partner ?? null, q.study ?? null, q.limit, q.offset) as Row[];
    return rows.map(toOutbound);
  }

  /** Records an attempt's outcome. */
  updateOutbound(id: number, change: { state: OutboundState; size?: number | null; lastError?: string | null; smtpResponse?: string | null; sentAt?: string | null; attempt?: boolean }, now: string): void {
    this.#db
      .statement('UPDATE mail_outbound SET state = ?, size = COALESCE(?, size), last_error = ?, smtp_response = COALESCE(?, smtp_response), sent_at = COALESCE(?, sent_at), attempts = attempts + ?, updated_at = ? WHERE id = ?')
      .run(change.state, change.size ?? null, change.lastError ?? null, change.smtpResponse ?? null, change.sentAt ?? null, change.attempt === true ? 1 : 0, now, id);
  }

  /** A built mail cut into fragments: its set id and count (none sent yet). */
  setFragments(id: number, partialId: string, fragments: number, now: string): void {
    this.#db.statement('UPDATE mail_outbound SET partial_id = ?, fragments = ?, fragments_sent = 0, updated_at = ? WHERE id = ?').run(partialId, fragments, now, id);
  }

  fragmentSent(id: number, number: number, now: string): void {
    this.#db.statement('UPDATE mail_outbound SET fragments_sent = ?, updated_at = ? WHERE id = ?').run(number, now, id);
  }

  /** A partner's receipt for a mail we sent to it; false when no such sent mail is known. */
  acknowledge(recipient: string, messageId: string, at: string): boolean {
    const result = this.#db
      .statement("UPDATE mail_outbound SET state = 'acknowledged', acknowledged_at = ?, updated_at = ? WHERE message_id = ? AND recipient = ? COLLATE NOCASE AND state IN ('sent', 'acknowledged')")
      .run(at, at, messageId, recipient);
    return Number(result.changes) > 0;
  }

  inbound(mailbox: string, uidl: string): InboundMail | undefined {
    const row = this.#db.statement('SELECT * FROM mail_inbound WHERE mailbox = ? AND uidl = ?').get(mailbox, uidl) as Row | undefined;
    return row === undefined ? undefined : toInbound(row);
  }

  inboundById(id: number): InboundMail | undefined {
    const row = this.#db.statement('SELECT * FROM mail_inbound WHERE id = ?').get(id) as Row | undefined;
    return row === undefined ? undefined : toInbound(row);
  }

  /** Another mail with this Message-ID already handled (imported) on this mailbox. */
  importedWithMessageId(mailbox: string, messageId: string, exceptId: number): InboundMail | undefined {
    const row = this.#db.statement("SELECT * FROM mail_inbound WHERE mailbox = ? AND message_id = ? AND id <> ? AND state = 'imported' LIMIT 1").get(mailbox, messageId, exceptId) as Row | undefined;
    return row === undefined ? undefined : toInbound(row);
  }

  insertInbound(m: { mailbox: string; uidl: string; state: InboundState; rawPath: string | null; size: number; reason?: string }, now: string): InboundMail {
    this.#db.statement('INSERT INTO mail_inbound (mailbox, uidl, state, raw_path, size, reason, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(m.mailbox, m.uidl, m.state, m.rawPath, m.size, m.reason ?? null, now, now);
    return this.inbound(m.mailbox, m.uidl) as InboundMail;
  }

  updateInbound(id: number, change: Partial<Pick<InboundMail, 'state' | 'reason' | 'messageId' | 'sender' | 'partnerName' | 'files' | 'stored' | 'duplicates' | 'deletedAt' | 'rawPath' | 'setId' | 'setPart' | 'setParts'>>, now: string): void {
    const current = this.inboundById(id);
    if (current === undefined) return;
    const next = { ...current, ...change };
    this.#db
      .statement('UPDATE mail_inbound SET state = ?, reason = ?, message_id = ?, sender = ?, partner_name = ?, files = ?, stored = ?, duplicates = ?, deleted_at = ?, raw_path = ?, set_id = ?, set_part = ?, set_parts = ?, updated_at = ? WHERE id = ?')
      .run(next.state, next.reason, next.messageId, next.sender, next.partnerName, next.files, next.stored, next.duplicates, next.deletedAt, next.rawPath, next.setId, next.setPart, next.setParts, now, id);
  }

  /** The imported mails of one set from one sender, one per part. */
  importedOfSet(mailbox: string, sender: string, setId: string): InboundMail[] {
    return (this.#db.statement("SELECT * FROM mail_inbound WHERE mailbox = ? AND sender = ? AND set_id = ? AND state = 'imported' GROUP BY set_part ORDER BY set_part").all(mailbox, sender, setId) as Row[]).map(toInbound);
  }

  /** Received sets, newest first: `incomplete` only those still missing parts. */
  receivedSets(q: { incomplete?: boolean; limit: number; offset: number }): ReceivedSet[] {
    const rows = this.#db
      .statement(
        "SELECT mailbox, sender, set_id, MAX(set_parts) AS parts, COUNT(DISTINCT set_part) AS imported, MIN(received_at) AS first_at, MAX(received_at) AS last_at FROM mail_inbound WHERE set_id IS NOT NULL AND state = 'imported' GROUP BY mailbox, sender, set_id HAVING (?1 = 0 OR COUNT(DISTINCT set_part) < MAX(set_parts)) ORDER BY last_at DESC LIMIT ?2 OFFSET ?3",
      )
      .all(q.incomplete === true ? 1 : 0, q.limit, q.offset) as Row[];
    return rows.map((r) => ({ mailbox: r.mailbox as string, sender: r.sender as string, setId: r.set_id as string, parts: r.parts as number, imported: r.imported as number, firstAt: r.first_at as string, lastAt: r.last_at as string, complete: (r.imported as number) >= (r.parts as number) }));
  }

  /** What a mailbox still has to do: mails queued to send from it, received mails stored but not handled yet. */
  pendingOfMailbox(mailbox: string): { queued: number; stored: number } {
    const queued = this.#db.statement("SELECT count(*) AS n FROM mail_outbound WHERE mailbox = ? AND state = 'queued'").get(mailbox) as { n: number };
    const stored = this.#db.statement("SELECT count(*) AS n FROM mail_inbound WHERE mailbox = ? AND state = 'stored'").get(mailbox) as { n: number };
    return { queued: queued.n, stored: stored.n };
  }

  /** Mails we sent that no receipt acknowledged, sent before `cutoff`. */
  unacknowledgedBefore(cutoff: string): OutboundMail[] {
    return (this.#db.statement("SELECT * FROM mail_outbound WHERE state = 'sent' AND sent_at < ? ORDER BY id").all(cutoff) as Row[]).map(toOutbound);
  }

  /** Mails put together from message/partial fragments, stored but not handled yet (they are on no server). */
  assembledStored(mailbox: string): InboundMail[] {
    return (this.#db.statement("SELECT * FROM mail_inbound WHERE mailbox = ? AND state = 'stored' AND uidl LIKE 'partial:%' ORDER BY id").all(mailbox) as Row[]).map(toInbound);
  }

  listInbound(q: { state?: InboundState; mailbox?: string; limit: number; offset: number }): InboundMail[] {
    const rows = this.#db
      .statement('SELECT * FROM mail_inbound WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR mailbox = ?2) ORDER BY id DESC LIMIT ?3 OFFSET ?4')
      .all(q.state ?? null, q.mailbox ?? null, q.limit, q.offset) as Row[];
    return rows.map(toInbound);
  }
}
