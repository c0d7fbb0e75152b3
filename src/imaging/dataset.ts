import dcmjs from 'dcmjs';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** A parsed instance: its elements by keyword (as dcmjs names them) and its transfer syntax. */
export interface ParsedInstance {
  elements: Record<string, unknown>;
  transferSyntaxUid: string;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Parses a Part 10 file. dcmjs reads an explicit-VR element sent as UN with the VR its dictionary
 * gives the tag (a modality that does not know a newer attribute sends it as UN), so a Window Center
 * or a LUT Descriptor that arrived as UN reads as DS or US here (tested).
 */
export function parseInstance(bytes: Uint8Array): ParsedInstance {
  // noCopy: pixel data stays a view on the file's bytes rather than a copy of them.
  const { dict, meta } = DicomMessage.readFile(toArrayBuffer(bytes), { noCopy: true });
  const naturalMeta = DicomMetaDictionary.naturalizeDataset(meta);
  return { elements: DicomMetaDictionary.naturalizeDataset(dict), transferSyntaxUid: text(naturalMeta['TransferSyntaxUID']) };
}

/** The first value of an element as trimmed text ('' when absent). */
export function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.length === 0 ? '' : text(value[0]);
  return String(value).trim();
}

/** The values of a numeric element (DS and IS arrive as strings or numbers, multi-valued as arrays). */
export function numbers(value: unknown): number[] {
  if (value === undefined || value === null || value === '') return [];
  const list = Array.isArray(value) ? value : String(value).split('\\');
  return list.map((v) => (typeof v === 'number' ? v : Number.parseFloat(String(v)))).filter((n) => Number.isFinite(n));
}

/** The first value of a numeric element, or undefined. */
export function number(value: unknown): number | undefined {
  return numbers(value)[0];
}

/** The first item of a sequence, or undefined. */
export function firstItem(value: unknown): Record<string, unknown> | undefined {
  const item = Array.isArray(value) ? value[0] : value;
  return typeof item === 'object' && item !== null && !(item instanceof ArrayBuffer) && !ArrayBuffer.isView(item) ? (item as Record<string, unknown>) : undefined;
}

/** The bytes of a binary element (OB/OW arrive as a list of ArrayBuffers). */
export function bytesOf(value: unknown): Uint8Array | undefined {
  const parts = (Array.isArray(value) ? value : [value]).filter((p): p is ArrayBuffer | ArrayBufferView => p instanceof ArrayBuffer || ArrayBuffer.isView(p));
  if (parts.length === 0) return undefined;
  const views = parts.map((p) => (p instanceof ArrayBuffer ? new Uint8Array(p) : new Uint8Array(p.buffer, p.byteOffset, p.byteLength)));
  if (views.length === 1) return views[0];
  const out = new Uint8Array(views.reduce((n, v) => n + v.byteLength, 0));
  let offset = 0;
  for (const v of views) {
    out.set(v, offset);
    offset += v.byteLength;
  }
  return out;
}
