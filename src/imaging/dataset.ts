import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import dcmjs from 'dcmjs';

const { DicomMessage, DicomMetaDictionary } = dcmjs.data;

/** A parsed instance: its elements by keyword (as dcmjs names them) and its transfer syntax. */
export interface ParsedInstance {
  elements: Record<string, unknown>;
  transferSyntaxUid: string;
  /** Native pixel data left in the file (large objects): where its value starts and how long it is. */
  pixelFile?: { fd: number; offset: number; length: number };
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

/** Objects above this size keep native pixel data in the file and read it a frame at a time. */
const inMemoryLimit = 32 * 1024 * 1024;
const nativeSyntaxes = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

function readAt(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const n = readSync(fd, out, 0, length, position);
  return out.subarray(0, n);
}

/**
 * Where the Pixel Data value of a native object starts: it must be the last element and exactly as
 * long as its frames (checked against the element's header); undefined otherwise.
 */
function trailingPixelData(fd: number, size: number, length: number, syntax: string): number | undefined {
  const value = length + (length % 2);
  const implicit = syntax === '1.2.840.10008.1.2';
  const big = syntax === '1.2.840.10008.1.2.2';
  const headerLength = implicit ? 8 : 12;
  const start = size - value - headerLength;
  if (start < 132) return undefined;
  const header = Buffer.from(readAt(fd, start, headerLength));
  if (header.length < headerLength) return undefined;
  const tagOk = big ? header.readUInt16BE(0) === 0x7fe0 && header.readUInt16BE(2) === 0x0010 : header.readUInt16LE(0) === 0x7fe0 && header.readUInt16LE(2) === 0x0010;
  if (!tagOk) return undefined;
  if (!implicit && !['OB', 'OW'].includes(header.toString('latin1', 4, 6))) return undefined;
  const declared = implicit ? header.readUInt32LE(4) : big ? header.readUInt32BE(8) : header.readUInt32LE(8);
  return declared === value ? start + headerLength : undefined;
}

/**
 * Opens a stored Part 10 file for rendering. Small files are read whole. A large native object (a
 * 300-frame cine is hundreds of MB) is parsed up to its Pixel Data only, and its frames are read
 * from the file one at a time, so that memory stays flat whatever the object's size. Call `close()`.
 */
export function openInstance(file: string): { instance: ParsedInstance; close(): void } {
  const fd = openSync(file, 'r');
  let keep = false;
  try {
    const { size } = fstatSync(fd);
    if (size > inMemoryLimit) {
      for (let want = 256 * 1024; ; want *= 4) {
        const head = readAt(fd, 0, Math.min(size, want));
        let parsed: { dict: Record<string, unknown>; meta: Record<string, unknown> } | undefined;
        try {
          parsed = DicomMessage.readFile(toArrayBuffer(head), { untilTag: '7FE00010', includeUntilTagValue: false, noCopy: true });
        } catch {
          parsed = undefined;
        }
        if (parsed !== undefined) {
          const elements = DicomMetaDictionary.naturalizeDataset(parsed.dict);
          const transferSyntaxUid = text(DicomMetaDictionary.naturalizeDataset(parsed.meta)['TransferSyntaxUID']);
          const rows = number(elements['Rows']) ?? 0;
          const columns = number(elements['Columns']) ?? 0;
          const samples = number(elements['SamplesPerPixel']) ?? 1;
          const bits = number(elements['BitsAllocated']) ?? 0;
          const frames = number(elements['NumberOfFrames']) ?? 1;
          const photometric = text(elements['PhotometricInterpretation']).toUpperCase();
          const perPixel = photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422' ? 2 : samples;
          const length = (rows * columns * perPixel * frames * bits) / 8;
          const offset = nativeSyntaxes.has(transferSyntaxUid) && length > 0 && Number.isInteger(length) ? trailingPixelData(fd, size, length, transferSyntaxUid) : undefined;
          if (offset !== undefined) {
            // dcmjs leaves a placeholder where it stopped; the value is in the file.
            delete elements['PixelData'];
            keep = true;
            return { instance: { elements, transferSyntaxUid, pixelFile: { fd, offset, length } }, close: () => closeSync(fd) };
          }
          break;
        }
        if (want >= size) break;
      }
    }
    return { instance: parseInstance(readFileSync(fd)), close: () => undefined };
  } finally {
    if (!keep) closeSync(fd);
  }
}
