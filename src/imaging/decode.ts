import codecs from 'dcmjs-codecs';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { Photometric, type PixelModule } from './pixel-module.ts';
import { PixelEncoding } from './transfer-syntax.ts';

const { NativeCodecs, Context } = codecs;

/** Loads the WebAssembly decoders (once per thread). */
export async function initDecoders(): Promise<void> {
  if (!NativeCodecs.isInitialized()) await NativeCodecs.initializeAsync();
}

/** A frame as native little-endian samples, interleaved (R G B R G B ... for colour). */
export interface DecodedFrame {
  data: Uint8Array;
  /** What the samples are now: a JPEG decoder hands YBR back as RGB. */
  photometric: Photometric;
  /** Native YBR_FULL_422: two bytes a pixel (Y1 Y2 Cb Cr for each pair); decoders hand back full size. */
  subsampled: boolean;
}

/** Colour-by-plane to colour-by-pixel. */
function interleave(planes: Uint8Array, pixels: number, bytesPerSample: number): Uint8Array {
  const out = new Uint8Array(pixels * 3 * bytesPerSample);
  const plane = pixels * bytesPerSample;
  for (let p = 0; p < pixels; p++) {
    for (let s = 0; s < 3; s++) {
      for (let b = 0; b < bytesPerSample; b++) out[(p * 3 + s) * bytesPerSample + b] = planes[s * plane + p * bytesPerSample + b] as number;
    }
  }
  return out;
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i + 1 < bytes.byteLength; i += 2) {
    out[i] = bytes[i + 1] as number;
    out[i + 1] = bytes[i] as number;
  }
  return out;
}

function swap32(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  for (let i = 0; i + 3 < bytes.byteLength; i += 4) {
    out[i] = bytes[i + 3] as number;
    out[i + 1] = bytes[i + 2] as number;
    out[i + 2] = bytes[i + 1] as number;
    out[i + 3] = bytes[i] as number;
  }
  return out;
}

const decoders = {
  [PixelEncoding.Rle]: 'decodeRle',
  [PixelEncoding.Jpeg]: 'decodeJpeg',
  [PixelEncoding.JpegLs]: 'decodeJpegLs',
  [PixelEncoding.Jpeg2000]: 'decodeJpeg2000',
  [PixelEncoding.HtJpeg2000]: 'decodeHtJpeg2000',
} as const;

/**
 * Decodes one frame with the dcmjs-codecs decoders. The RLE decoder lays colour out as the context's
 * Planar Configuration says (dcmjs-imaging's own pipeline gets that wrong for RGB RLE, which is why we
 * decode here and render ourselves); a JPEG decoder converts YBR to RGB itself.
 */
export function decodeFrame(encoded: Uint8Array, m: PixelModule, encoding: PixelEncoding): DecodedFrame {
  const pixels = m.rows * m.columns;
  const bytesPerSample = m.bitsAllocated / 8;
  if (encoding === PixelEncoding.Native || encoding === PixelEncoding.NativeBigEndian) {
    let data = encoded;
    if (encoding === PixelEncoding.NativeBigEndian && bytesPerSample === 2) data = swap16(data);
    if (encoding === PixelEncoding.NativeBigEndian && bytesPerSample === 4) data = swap32(data);
    const subsampled = m.photometric === Photometric.YbrFull422 || m.photometric === Photometric.YbrPartial422;
    if (m.planar && !subsampled) data = interleave(data, pixels, bytesPerSample);
    return { data, photometric: m.photometric, subsampled };
  }
  const method = (decoders as Record<string, string>)[encoding];
  if (method === undefined) throw new GatewayError(ErrorCode.Invalid, `pixel encoding ${encoding} is not decoded frame by frame`);
  const context = new Context({
    width: m.columns,
    height: m.rows,
    bitsAllocated: m.bitsAllocated,
    bitsStored: m.bitsStored,
    samplesPerPixel: m.samplesPerPixel,
    pixelRepresentation: m.signed ? 1 : 0,
    planarConfiguration: m.planar ? 1 : 0,
    photometricInterpretation: m.photometric,
    encodedBuffer: encoded,
  });
  let decoded: Uint8Array | undefined;
  try {
    const colour = m.samplesPerPixel === 3;
    const out = (NativeCodecs as unknown as Record<string, (c: unknown, p?: Record<string, unknown>) => InstanceType<typeof Context>>)[method]?.(
      context,
      encoding === PixelEncoding.Jpeg && colour ? { convertColorspaceToRgb: m.photometric !== Photometric.Rgb } : {},
    );
    decoded = out?.getDecodedBuffer();
  } catch (err) {
    throw new GatewayError(ErrorCode.Unreadable, `the ${encoding} frame cannot be decoded: ${(err as Error).message}`, { cause: err });
  }
  const expected = pixels * m.samplesPerPixel * bytesPerSample;
  if (decoded === undefined || decoded.byteLength < expected) {
    throw new GatewayError(ErrorCode.Unreadable, `the ${encoding} frame decoded to ${decoded?.byteLength ?? 0} bytes, ${expected} expected`);
  }
  let data = decoded.subarray(0, expected);
  let photometric = m.photometric;
  if (m.samplesPerPixel === 3) {
    if (m.planar && encoding !== PixelEncoding.Jpeg) data = interleave(data, pixels, bytesPerSample);
    if (encoding === PixelEncoding.Jpeg) photometric = Photometric.Rgb;
    // JPEG 2000 undoes its own colour transform: YBR_ICT / YBR_RCT decode to RGB.
    if (encoding === PixelEncoding.Jpeg2000 || encoding === PixelEncoding.HtJpeg2000) {
      if (photometric === Photometric.YbrIct || photometric === Photometric.YbrRct) photometric = Photometric.Rgb;
    }
    // A 4:2:2 JPEG or RLE frame comes back full size.
    if (photometric === Photometric.YbrFull422) photometric = Photometric.YbrFull;
  }
  return { data, photometric, subsampled: false };
}
