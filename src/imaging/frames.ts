import { readSync } from 'node:fs';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { bytesOf, type ParsedInstance } from './dataset.ts';
import { Photometric, type PixelModule } from './pixel-module.ts';
import { PixelEncoding } from './transfer-syntax.ts';

function view(part: unknown): Uint8Array | undefined {
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  return undefined;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Bytes of one native frame; 4:2:2 subsampled YBR holds two bytes a pixel. */
export function nativeFrameBytes(m: PixelModule): number {
  const subsampled = m.photometric === Photometric.YbrFull422 || m.photometric === Photometric.YbrPartial422;
  return m.rows * m.columns * (subsampled ? 2 : m.samplesPerPixel) * (m.bitsAllocated / 8);
}

/** Whether a fragment starts a new frame of its codec (used when there is no Basic Offset Table). */
function startsFrame(fragment: Uint8Array, encoding: PixelEncoding): boolean {
  const b0 = fragment[0];
  const b1 = fragment[1];
  switch (encoding) {
    case PixelEncoding.Jpeg:
    case PixelEncoding.JpegLs:
      return b0 === 0xff && b1 === 0xd8;
    case PixelEncoding.Jpeg2000:
    case PixelEncoding.HtJpeg2000:
      // A codestream (SOC) or a JP2 file.
      return (b0 === 0xff && b1 === 0x4f) || (fragment.byteLength > 8 && fragment[4] === 0x6a && fragment[5] === 0x50);
    case PixelEncoding.Rle: {
      // An RLE frame starts with its header: 1 to 15 segments, the first at offset 64.
      const segments = fragment.byteLength >= 8 ? new DataView(fragment.buffer, fragment.byteOffset, 8).getUint32(0, true) : 0;
      const first = fragment.byteLength >= 8 ? new DataView(fragment.buffer, fragment.byteOffset, 8).getUint32(4, true) : 0;
      return segments >= 1 && segments <= 15 && first === 64;
    }
    default:
      return true;
  }
}

/** The encoded frames of an instance, one at a time. */
export interface FrameSource {
  count: number;
  /** Frame `i` (0-based); a fresh buffer when read from the file, so that a consumer may keep it. */
  get(i: number): Uint8Array;
}

/**
 * The encoded frames of an instance. Native pixel data left in the file (a large object, see
 * openInstance) is read frame by frame at its offset; otherwise see framesOfValue.
 */
export function encodedFrames(instance: ParsedInstance, m: PixelModule, encoding: PixelEncoding): FrameSource {
  const { pixelFile } = instance;
  if (pixelFile !== undefined && (encoding === PixelEncoding.Native || encoding === PixelEncoding.NativeBigEndian)) {
    const size = nativeFrameBytes(m);
    if (pixelFile.length < size * m.frames) {
      throw new GatewayError(ErrorCode.Unreadable, `the pixel data holds ${pixelFile.length} bytes, ${size * m.frames} expected for ${m.frames} frame(s) of ${m.columns}x${m.rows}`);
    }
    return {
      count: m.frames,
      get: (i) => {
        const frame = new Uint8Array(size);
        const read = readSync(pixelFile.fd, frame, 0, size, pixelFile.offset + i * size);
        if (read < size) throw new GatewayError(ErrorCode.Unreadable, `frame ${i + 1} ends early in the file`);
        return frame;
      },
    };
  }
  const frames = framesOfValue(instance.elements['PixelData'], m, encoding);
  return { count: frames.length, get: (i) => frames[i] as Uint8Array };
}

/**
 * The encoded frames of a Pixel Data value: native frames are slices of the one value; encapsulated
 * frames follow the Basic Offset Table (dcmjs applies it) or, without one, the fragments: one frame of
 * all fragments when there is one frame, else fragments grouped where a codec's frame starts.
 */
export function framesOfValue(pixelData: unknown, m: PixelModule, encoding: PixelEncoding): Uint8Array[] {
  if (encoding === PixelEncoding.Native || encoding === PixelEncoding.NativeBigEndian) {
    const all = bytesOf(pixelData);
    const size = nativeFrameBytes(m);
    if (all === undefined || all.byteLength < size * m.frames) {
      throw new GatewayError(ErrorCode.Unreadable, `the pixel data holds ${all?.byteLength ?? 0} bytes, ${size * m.frames} expected for ${m.frames} frame(s) of ${m.columns}x${m.rows}`);
    }
    return Array.from({ length: m.frames }, (_, i) => all.subarray(i * size, (i + 1) * size));
  }
  const fragments = (Array.isArray(pixelData) ? pixelData : [pixelData]).flatMap((p) => (Array.isArray(p) ? p.map(view) : [view(p)])).filter((p): p is Uint8Array => p !== undefined && p.byteLength > 0);
  // dcmjs hands a frame built of several fragments (with an offset table) as one array of them.
  const grouped = (Array.isArray(pixelData) ? pixelData : [pixelData]).map((p) => (Array.isArray(p) ? concat(p.map(view).filter((v): v is Uint8Array => v !== undefined)) : view(p))).filter((p): p is Uint8Array => p !== undefined && p.byteLength > 0);
  if (fragments.length === 0) throw new GatewayError(ErrorCode.Unreadable, 'the pixel data holds no fragments');
  if (m.frames === 1 || encoding === PixelEncoding.H264 || encoding === PixelEncoding.Mpeg2 || encoding === PixelEncoding.Hevc) return [concat(fragments)];
  if (grouped.length === m.frames) return grouped;
  const frames: Uint8Array[][] = [];
  for (const fragment of fragments) {
    const last = frames.at(-1);
    if (last === undefined || startsFrame(fragment, encoding)) frames.push([fragment]);
    else last.push(fragment);
  }
  if (frames.length < m.frames) throw new GatewayError(ErrorCode.Unreadable, `the pixel data holds ${frames.length} frame(s), NumberOfFrames says ${m.frames}`);
  return frames.slice(0, m.frames).map(concat);
}
