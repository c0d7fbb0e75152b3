import type { RecordEntry } from '../domain/record-entry.ts';

/** An attachment as the API shows it: where to download it instead of where it lies. */
export interface AttachmentJson {
  n: number;
  kind: string;
  mediaType: string;
  bytes: number;
  sha256: string;
  sopInstanceUid: string;
  width: number | null;
  height: number | null;
  frames: number | null;
  fps: number | null;
  /** Relative to the gateway's base URL. */
  url: string;
}

export type EntryJson = Omit<RecordEntry, 'attachments'> & { attachments: AttachmentJson[] };

/** The one JSON form of an entry: feed, inbox, single entry and webhook body alike. */
export function entryJson(entry: RecordEntry): EntryJson {
  return {
    ...entry,
    attachments: entry.attachments.map(({ path: _path, ...a }) => ({ ...a, url: `/api/v1/records/${entry.id}/attachments/${a.n}` })),
  };
}
