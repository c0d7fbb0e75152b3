/** Kinds of file made from a received instance. */
export const DerivedFileKind = { Image: 'image', Video: 'video', Poster: 'poster', Document: 'document' } as const;
export type DerivedFileKind = (typeof DerivedFileKind)[keyof typeof DerivedFileKind];
export const derivedFileKinds = Object.values(DerivedFileKind) as [DerivedFileKind, ...DerivedFileKind[]];

/** A file made from a received instance: a JPEG, an MP4 with its poster, an extracted PDF. */
export interface DerivedFile {
  kind: DerivedFileKind;
  /** Relative to the data directory, e.g. `derived/<study>/<series>/<SOP Instance UID>.jpg`. */
  path: string;
  mediaType: string;
  bytes: number;
  sha256: string;
  width: number | null;
  height: number | null;
  frames: number | null;
  fps: number | null;
}
