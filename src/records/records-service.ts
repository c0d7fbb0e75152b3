import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../clock.ts';
import type { RecordsConfig } from '../config/records-schema.ts';
import type { Database, EntryHeader, IndexedInstance, NewAttachment, RecordRepository } from '../db/index.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { exportFileName } from '../domain/export-name.ts';
import { emptyPersonName } from '../domain/person-name.ts';
import type { DerivedFile } from '../domain/derived-file.ts';
import { RecordSource, type RecordAttachment, type RecordEntry, type UnassignedReason } from '../domain/record-entry.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Logger } from '../log.ts';
import type { PatientAssigner, Assignment } from './assignment.ts';
import { readHeaderAttributes, noHeaderAttributes, type HeaderAttributes } from './header-attributes.ts';
import { recordsExportType, type RecordsExportPayload } from './export-job.ts';
import { entryJson } from './representation.ts';
import { RecordEvent, recordsWebhookType, type RecordsWebhookPayload } from './webhook-job.ts';

/** What rendering reports of one instance. */
export interface RenderedInstance {
  instanceId: number;
  sopInstanceUid: string;
  derived: readonly DerivedFile[];
  /** Why nothing was rendered (e.g. a structured report). */
  skipped?: string;
}

export type FilingOutcome =
  | { kind: 'filed'; entryIds: number[]; patientId: string }
  | { kind: 'unassigned'; entryIds: number[]; reason: UnassignedReason }
  | { kind: 'not-filed'; reason: string };

export interface AssignTarget {
  patientId: string;
  issuer?: string;
  /** Create the patient when the registry has no such number. */
  create?: boolean;
}

export interface RecordsServiceDeps {
  db: Database;
  repository: RecordRepository;
  assigner: PatientAssigner;
  jobs: JobQueue;
  config: RecordsConfig;
  /** The data directory, and the archive inside it. */
  dirs: { root: string; archive: string };
  clock: Clock;
  timeZone: string;
  log: Logger;
}

const isoDate = (da: string): string | undefined => (/^[0-9]{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : undefined);

function dayIn(timeZone: string, iso: string): string {
  // en-CA writes YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}

function extensionOf(file: string, mediaType: string): string {
  const ext = path.extname(file).slice(1);
  if (ext !== '') return ext;
  return mediaType.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
}

/** Job payloads are kept small (the queue takes at most 16 KiB); the body leaves room for the rest. */
const maxWebhookBodyChars = 12 * 1024;
/** More attachments than this never fit in the body (each takes about 300 characters). */
const maxWebhookAttachments = 48;

/**
 * The webhook's body: the event and the entry as the feed shows it. An entry with more attachments
 * than fit goes without them (`attachmentsIncluded: false`); the receiver reads it from the API.
 */
function webhookBody(event: RecordEvent, header: EntryHeader, full: RecordEntry | undefined): string {
  if (full !== undefined) {
    const body = JSON.stringify({ event, attachmentsIncluded: true, entry: entryJson(full) });
    if (body.length <= maxWebhookBodyChars) return body;
  }
  return JSON.stringify({ event, attachmentsIncluded: false, entry: entryJson({ ...header, attachments: [] }) });
}

/**
 * Files rendered instances in patient records, keeps the unassigned inbox, and hands new and changed
 * entries to the deliveries (export folder, webhook) through the job queue, in the same transaction.
 */
export class RecordsService {
  readonly #deps: RecordsServiceDeps;

  constructor(deps: RecordsServiceDeps) {
    this.#deps = deps;
  }

  /**
   * The hook rendering calls once an instance's derived files exist, inside its open transaction.
   * Synchronous; writes only the database (reading the stored file's header when it starts an entry
   * or retries the assignment of one in the inbox) and enqueues the deliveries in the same
   * transaction. Calling it again for the same files changes nothing; a file rendered again with new
   * content replaces its attachment.
   */
  fileRendered(tx: DatabaseSync, rendered: RenderedInstance): FilingOutcome {
    const { repository, config, log } = this.#deps;
    const instance = repository.instance(tx, rendered.instanceId);
    if (instance === undefined || instance.sopInstanceUid !== rendered.sopInstanceUid) {
      log.warn({ instanceId: rendered.instanceId }, 'rendered instance is not in the archive index; not filed');
      return { kind: 'not-filed', reason: 'the instance is not in the archive index' };
    }
    const byType = new Map<string, DerivedFile[]>();
    for (const file of rendered.derived) {
      const type = config.kinds[file.kind];
      if (type === 'none') continue;
      byType.set(type, [...(byType.get(type) ?? []), file]);
    }
    if (byType.size === 0) return { kind: 'not-filed', reason: rendered.skipped ?? 'no derived file of a kind that is filed' };

    const at = this.#deps.clock.now().toISOString();
    // Read only for a new entry (its date, and Other Patient IDs): later files of a study skip it.
    let header: HeaderAttributes | undefined;
    let assignment: Assignment | undefined;
    const entryIds: number[] = [];
    let outcome: FilingOutcome | undefined;
    let newInInbox = false;
    for (const [type, files] of byType) {
      let entry = repository.entryOfStudy(tx, instance.studyInstanceUid, type, RecordSource.Dicom);
      let created = false;
      if (entry === undefined) {
        header ??= this.#header(instance);
        assignment ??= this.#deps.assigner.resolve(tx, instance, header, at);
        const id = repository.createEntry(tx, {
          type,
          title: this.#title(type, instance),
          date: isoDate(header.acquisitionDate) ?? isoDate(header.contentDate) ?? isoDate(header.seriesDate) ?? isoDate(instance.studyDate) ?? dayIn(this.#deps.timeZone, instance.receivedAt),
          text: instance.seriesDescription,
          source: RecordSource.Dicom,
          studyInstanceUid: instance.studyInstanceUid,
          accessionNumber: instance.accessionNumber,
          patientRef: assignment.kind === 'patient' ? assignment.ref : null,
          unassignedReason: assignment.kind === 'unassigned' ? assignment.reason : null,
          at,
        });
        entry = repository.entryHeader(id, tx) as EntryHeader;
        created = true;
        newInInbox ||= entry.patient === null;
      }
      const changed: number[] = [];
      for (const file of files) {
        const put = repository.putAttachment(tx, entry.id, this.#attachment(file, instance), at);
        if (put.changed) changed.push(put.n);
      }
      if (!created && changed.length > 0) {
        const lines = entry.text === '' ? [] : entry.text.split('\n');
        if (instance.seriesDescription !== '' && !lines.includes(instance.seriesDescription)) lines.push(instance.seriesDescription);
        repository.touch(tx, entry.id, lines.join('\n'), at);
      }
      entryIds.push(entry.id);
      if (!created && entry.patient === null) {
        // An entry in the inbox tries again with each new instance: the PVS may have sent the order
        // since. The study's header is read once (instances of a study name the same patient).
        header ??= this.#studyHeader(instance);
        assignment ??= this.#deps.assigner.resolve(tx, instance, header, at);
        if (assignment.kind === 'patient') {
          repository.assign(tx, entry.id, assignment.ref, at);
          this.#deliver(tx, entry.id, RecordEvent.Assigned, 'all');
          entry = repository.entryHeader(entry.id, tx) as EntryHeader;
        }
      } else if (created || changed.length > 0) {
        this.#deliver(tx, entry.id, created ? RecordEvent.Created : RecordEvent.Updated, changed);
      }
      outcome ??=
        entry.patient === null
          ? { kind: 'unassigned', entryIds, reason: entry.unassignedReason as UnassignedReason }
          : { kind: 'filed', entryIds, patientId: entry.patient.patientId };
    }
    if (outcome?.kind === 'unassigned' && newInInbox) log.info({ entryIds, reason: outcome.reason }, 'record entry waits in the unassigned inbox');
    return outcome as FilingOutcome;
  }

  /**
   * Files an entry under a registry patient: out of the inbox, or from one patient to another. The
   * patient counts as known to the PVS from now on. Delivers the entry again (every attachment).
   */
  assign(entryId: number, target: AssignTarget): RecordEntry {
    const { db, repository, clock } = this.#deps;
    return db.transaction((tx) => {
      const entry = repository.entryHeader(entryId, tx);
      if (entry === undefined) throw new GatewayError(ErrorCode.NotFound, 'no such record entry');
      const at = clock.now().toISOString();
      const issuer = target.issuer ?? '';
      let patient = repository.patient(tx, target.patientId, issuer);
      if (patient === undefined) {
        if (target.create !== true) {
          throw new GatewayError(ErrorCode.NotFound, 'the registry has no patient with this ID and issuer', {
            issues: [{ path: 'patientId', message: 'unknown patient', hint: 'pass "create": true to create the patient' }],
          });
        }
        repository.createPatient(tx, { patientId: target.patientId, issuer, name: emptyPersonName, birthDate: '', sex: '' }, at);
        patient = repository.patient(tx, target.patientId, issuer);
      }
      if (patient === undefined) throw new GatewayError(ErrorCode.Internal, 'the patient could not be created');
      repository.register(tx, patient.ref, at);
      if (entry.patient?.patientId === patient.patientId && entry.patient.issuer === patient.issuer) return repository.entry(entry.id, tx) as RecordEntry;
      repository.assign(tx, entry.id, patient.ref, at);
      this.#deliver(tx, entry.id, RecordEvent.Assigned, 'all');
      const assigned = repository.entry(entry.id, tx) as RecordEntry;
      this.#deps.log.info({ entryId, from: entry.patient === null ? 'inbox' : 'patient' }, 'record entry assigned');
      return assigned;
    });
  }

  entry(id: number): RecordEntry | undefined {
    return this.#deps.repository.entry(id);
  }

  feed(since: number, limit: number): { items: RecordEntry[]; next: number } {
    const items = this.#deps.repository.feed(since, limit);
    return { items, next: items.at(-1)?.seq ?? since };
  }

  inbox(limit: number, offset: number): { items: RecordEntry[]; total: number } {
    return this.#deps.repository.inbox(limit, offset);
  }

  /** The absolute path of an attachment's file, checked to be inside derived/. */
  attachmentFile(attachment: RecordAttachment): string {
    const root = path.resolve(this.#deps.dirs.root);
    const file = path.resolve(root, attachment.path);
    if (!file.startsWith(path.join(root, 'derived') + path.sep)) throw new GatewayError(ErrorCode.Internal, 'attachment path outside derived/');
    return file;
  }

  /** Header attributes of the last studies whose entries wait in the inbox, by Study Instance UID. */
  readonly #inboxHeaders = new Map<string, HeaderAttributes>();

  #studyHeader(instance: IndexedInstance): HeaderAttributes {
    let header = this.#inboxHeaders.get(instance.studyInstanceUid);
    if (header === undefined) {
      header = this.#header(instance);
      if (this.#inboxHeaders.size >= 256) this.#inboxHeaders.delete(this.#inboxHeaders.keys().next().value as string);
      this.#inboxHeaders.set(instance.studyInstanceUid, header);
    }
    return header;
  }

  #header(instance: IndexedInstance): HeaderAttributes {
    try {
      return readHeaderAttributes(path.join(this.#deps.dirs.archive, instance.path));
    } catch (err) {
      // Filing goes on with the index alone (study date; no Other Patient IDs).
      this.#deps.log.warn({ instanceId: instance.instanceId, reason: (err as Error).message }, 'stored file header unreadable; filing from the index');
      return noHeaderAttributes;
    }
  }

  #title(type: string, instance: IndexedInstance): string {
    const typeTitle = this.#deps.config.types[type] ?? type;
    const what = instance.studyDescription !== '' ? instance.studyDescription : instance.modality;
    return what === '' ? typeTitle : `${typeTitle}: ${what}`;
  }

  #attachment(file: DerivedFile, instance: IndexedInstance): NewAttachment {
    const normalized = path.posix.normalize(file.path.replaceAll('\\', '/'));
    if (!normalized.startsWith('derived/')) throw new GatewayError(ErrorCode.Invalid, 'a derived file must lie under derived/ in the data directory');
    return { ...file, path: normalized, sopInstanceUid: instance.sopInstanceUid };
  }

  /**
   * Enqueues the deliveries of an assigned entry's change, in the caller's transaction: an export of
   * each changed attachment, and one webhook request. Reads only what it delivers (an entry may have
   * thousands of attachments, and this runs for each rendered instance).
   */
  #deliver(tx: DatabaseSync, entryId: number, event: RecordEvent, changed: readonly number[] | 'all'): void {
    const { config, jobs, repository } = this.#deps;
    const exporting = config.export.folder !== undefined;
    const posting = config.webhook.url !== undefined;
    if (!exporting && !posting) return;
    const entry = repository.entryHeader(entryId, tx) as EntryHeader;
    if (entry.patient === null) return;
    const patientId = entry.patient.patientId;
    const correlationId = `record-${entry.id}`;
    if (exporting) {
      const attachments = changed === 'all' ? (repository.entry(entryId, tx) as RecordEntry).attachments : repository.attachments(tx, entryId, changed);
      for (const a of attachments) {
        const payload: RecordsExportPayload = {
          entryId: entry.id,
          n: a.n,
          source: a.path,
          fileName: exportFileName(config.export.fileName, {
            patientId,
            date: entry.date.replaceAll('-', ''),
            type: entry.type,
            n: String(a.n),
            entryId: String(entry.id),
            ext: extensionOf(a.path, a.mediaType),
          }),
        };
        // A file rendered again before its copy ran is copied once, as it is when the copy runs.
        jobs.enqueueInTransaction(tx, { type: recordsExportType, payload, key: `${recordsExportType}:${entry.id}:${a.n}:${payload.fileName}`, correlationId });
      }
    }
    if (posting) {
      const count = repository.attachmentCount(tx, entryId);
      const full = count <= maxWebhookAttachments ? (repository.entry(entryId, tx) as RecordEntry) : undefined;
      const payload: RecordsWebhookPayload = { delivery: randomUUID(), event, body: webhookBody(event, entry, full) };
      jobs.enqueueInTransaction(tx, { type: recordsWebhookType, payload, correlationId });
    }
  }
}
