import type { DatabaseSync } from 'node:sqlite';
import type { DerivedFile, DerivedFileKind } from '../domain/derived-file.ts';
import type { Database } from './database.ts';

/** A derived file as stored, with its id (the download route names it). */
export interface StoredDerivedFile extends DerivedFile {
  id: number;
  createdAt: string;
}

/** What rendering made of an instance. */
export interface Rendition {
  instanceId: number;
  sopInstanceUid: string;
  jobId: number | null;
  skipped: string | null;
  renderedAt: string;
  files: StoredDerivedFile[];
}

interface FileRow {
  id: number;
  kind: string;
  path: string;
  media_type: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  frames: number | null;
  fps: number | null;
  created_at: string;
}

function toFile(r: FileRow): StoredDerivedFile {
  return { id: r.id, kind: r.kind as DerivedFileKind, path: r.path, mediaType: r.media_type, bytes: r.bytes, sha256: r.sha256, width: r.width, height: r.height, frames: r.frames, fps: r.fps, createdAt: r.created_at };
}

/** The `renditions` and `derived_files` tables. */
export class DerivedFileRepository {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  /** Whether the instance is still indexed (it may have been replaced while it was rendered). */
  hasInstance(tx: DatabaseSync, instanceId: number): boolean {
    return this.#db.statement('SELECT 1 FROM instances WHERE id = ?', tx).get(instanceId) !== undefined;
  }

  /** Records a rendering, replacing an earlier one of the same instance (a re-render after a replace). */
  record(tx: DatabaseSync, entry: { instanceId: number; jobId: number | null; derived: readonly DerivedFile[]; skipped: string | undefined; at: string }): StoredDerivedFile[] {
    this.#db.statement('DELETE FROM derived_files WHERE instance_ref = ?', tx).run(entry.instanceId);
    this.#db
      .statement(
        `INSERT INTO renditions (instance_ref, job_id, skipped, rendered_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (instance_ref) DO UPDATE SET job_id = excluded.job_id, skipped = excluded.skipped, rendered_at = excluded.rendered_at`,
        tx,
      )
      .run(entry.instanceId, entry.jobId, entry.skipped ?? null, entry.at);
    const insert = this.#db.statement(
      `INSERT INTO derived_files (instance_ref, kind, path, media_type, bytes, sha256, width, height, frames, fps, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      tx,
    );
    return entry.derived.map((f) => toFile(insert.get(entry.instanceId, f.kind, f.path, f.mediaType, f.bytes, f.sha256, f.width, f.height, f.frames, f.fps, entry.at) as unknown as FileRow));
  }

  /** The rendition of an instance, or undefined when it has not been rendered (yet). */
  forInstance(sopInstanceUid: string): Rendition | undefined {
    const row = this.#db
      .statement('SELECT r.*, i.sop_instance_uid FROM renditions r JOIN instances i ON i.id = r.instance_ref WHERE i.sop_instance_uid = ?')
      .get(sopInstanceUid) as { instance_ref: number; sop_instance_uid: string; job_id: number | null; skipped: string | null; rendered_at: string } | undefined;
    if (row === undefined) return undefined;
    const files = (this.#db.statement('SELECT * FROM derived_files WHERE instance_ref = ? ORDER BY id').all(row.instance_ref) as unknown as FileRow[]).map(toFile);
    return { instanceId: row.instance_ref, sopInstanceUid: row.sop_instance_uid, jobId: row.job_id, skipped: row.skipped, renderedAt: row.rendered_at, files };
  }
}
