import { ErrorCode, GatewayError } from '../domain/errors.ts';
import { firstItem, number, text, type ParsedInstance } from './dataset.ts';
import { decodeFrame, type DecodedFrame } from './decode.ts';
import { encodedFrames } from './frames.ts';
import { lookUp, readLut, readWindow, windowFunction, VoiFunction, type Lut, type Window } from './lut.ts';
import { Photometric, readPixelModule, type PixelModule } from './pixel-module.ts';
import { pixelEncoding, type PixelEncoding } from './transfer-syntax.ts';

/** Eight-bit pixels ready for an encoder: grey (1 channel) or RGB (3, interleaved). */
export interface RenderedFrame {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface RenderOptions {
  /** Used when the image has neither a window nor a VOI LUT (e.g. a preset for its modality). */
  windowPreset?: { center: number; width: number } | undefined;
}

/** How the grey levels were chosen, for the log and the tests. */
export type VoiSource = 'window' | 'voi-lut' | 'preset' | 'min-max' | 'none';

export interface FrameRenderer {
  module: PixelModule;
  encoding: PixelEncoding;
  frames: number;
  /** Renders frame `index` (0-based). */
  render(index: number): RenderedFrame;
  /** Set once a grey frame has been rendered. */
  voiSource(): VoiSource;
}

/**
 * An attribute of the image, looked up where an enhanced multi-frame object keeps it too: the item of
 * `group` in the shared functional groups, else in the first frame's.
 */
function functionalGroup(elements: Record<string, unknown>, group: string): Record<string, unknown> | undefined {
  for (const groups of ['SharedFunctionalGroupsSequence', 'PerFrameFunctionalGroupsSequence']) {
    const item = firstItem(firstItem(elements[groups])?.[group]);
    if (item !== undefined) return item;
  }
  return undefined;
}

/** Reads samples as stored (bits stored, sign), one number per sample. */
function sampleReader(m: PixelModule, data: Uint8Array): (i: number) => number {
  const shift = m.highBit + 1 - m.bitsStored;
  const mask = m.bitsStored >= 32 ? 0xffffffff : 2 ** m.bitsStored - 1;
  const sign = 2 ** (m.bitsStored - 1);
  const aligned = data.byteOffset % (m.bitsAllocated / 8) === 0 ? data : data.slice();
  const words =
    m.bitsAllocated === 8
      ? aligned
      : m.bitsAllocated === 16
        ? new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 1)
        : new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 2);
  if (m.bitsStored === 32) return m.signed ? (i) => (words[i] as number) | 0 : (i) => words[i] as number;
  if (!m.signed) return shift === 0 && mask === 2 ** m.bitsAllocated - 1 ? (i) => words[i] as number : (i) => ((words[i] as number) >>> shift) & mask;
  return (i) => {
    const v = ((words[i] as number) >>> shift) & mask;
    return v >= sign ? v - 2 * sign : v;
  };
}

/** Stored value to modality value: the Modality LUT Sequence if there is one, else rescale slope/intercept. */
function modalityTransform(elements: Record<string, unknown>, m: PixelModule): { fn: (v: number) => number; lut: Lut | undefined } {
  const item = firstItem(elements['ModalityLUTSequence']);
  const lut = item === undefined ? undefined : readLut(item['LUTDescriptor'], item['LUTData'], m.signed);
  if (lut !== undefined) return { fn: (v) => lookUp(lut, v), lut };
  const rescale = functionalGroup(elements, 'PixelValueTransformationSequence');
  const slope = number(elements['RescaleSlope']) ?? number(rescale?.['RescaleSlope']) ?? 1;
  const intercept = number(elements['RescaleIntercept']) ?? number(rescale?.['RescaleIntercept']) ?? 0;
  if (slope === 1 && intercept === 0) return { fn: (v) => v, lut: undefined };
  return { fn: (v) => v * slope + intercept, lut: undefined };
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** YCbCr to RGB, full range (JFIF) or partial (ITU-R BT.601), PS3.3 C.7.6.3.1.2. */
function ybrToRgb(y: number, cb: number, cr: number, partial: boolean, out: Uint8Array, o: number): void {
  if (partial) {
    const yy = 1.1644 * (y - 16);
    out[o] = clampByte(yy + 1.596 * (cr - 128));
    out[o + 1] = clampByte(yy - 0.3918 * (cb - 128) - 0.813 * (cr - 128));
    out[o + 2] = clampByte(yy + 2.0172 * (cb - 128));
  } else {
    out[o] = clampByte(y + 1.402 * (cr - 128));
    out[o + 1] = clampByte(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
    out[o + 2] = clampByte(y + 1.772 * (cb - 128));
  }
}

function renderColour(m: PixelModule, frame: DecodedFrame): Uint8Array {
  const pixels = m.rows * m.columns;
  const out = new Uint8Array(pixels * 3);
  const { data } = frame;
  if (frame.subsampled) {
    // Y1 Y2 Cb Cr per pair of pixels (PS3.3 C.7.6.3.1.2).
    const partial = frame.photometric === Photometric.YbrPartial422;
    for (let p = 0; p + 1 < pixels; p += 2) {
      const i = p * 2;
      const cb = data[i + 2] as number;
      const cr = data[i + 3] as number;
      ybrToRgb(data[i] as number, cb, cr, partial, out, p * 3);
      ybrToRgb(data[i + 1] as number, cb, cr, partial, out, p * 3 + 3);
    }
    return out;
  }
  const read = sampleReader(m, data);
  const down = Math.max(0, m.bitsStored - 8);
  const sample = down === 0 ? read : (i: number) => read(i) / 2 ** down;
  if (frame.photometric === Photometric.Rgb) {
    if (down === 0 && m.bitsAllocated === 8) return data.subarray(0, pixels * 3);
    for (let i = 0; i < pixels * 3; i++) out[i] = clampByte(sample(i));
    return out;
  }
  const partial = frame.photometric === Photometric.YbrPartial422 || frame.photometric === Photometric.YbrPartial420;
  for (let p = 0; p < pixels; p++) ybrToRgb(sample(p * 3), sample(p * 3 + 1), sample(p * 3 + 2), partial, out, p * 3);
  return out;
}

function paletteTables(elements: Record<string, unknown>, m: PixelModule): [Lut, Lut, Lut] {
  const tables = (['Red', 'Green', 'Blue'] as const).map((c) => readLut(elements[`${c}PaletteColorLookupTableDescriptor`], elements[`${c}PaletteColorLookupTableData`], m.signed));
  const missing = ['Red', 'Green', 'Blue'].filter((_, i) => tables[i] === undefined);
  if (missing.length > 0) {
    throw new GatewayError(ErrorCode.Invalid, `the image cannot be rendered: PALETTE COLOR without a usable ${missing.join(', ')} Palette Color Lookup Table Descriptor and Data (segmented palettes are not rendered)`);
  }
  return tables as [Lut, Lut, Lut];
}

/**
 * The rendering pipeline of PS3.4 N.2 for one instance: decode, Modality LUT (rescale or LUT
 * Sequence), VOI LUT (window or LUT Sequence, else a preset, else the first frame's min/max),
 * Presentation LUT (MONOCHROME1 inverted); colour converted to RGB, palettes looked up.
 */
export function frameRenderer(instance: ParsedInstance, options: RenderOptions = {}): FrameRenderer {
  const { elements, transferSyntaxUid } = instance;
  const encoding = pixelEncoding(transferSyntaxUid);
  if (encoding === undefined) throw new GatewayError(ErrorCode.Invalid, `the image cannot be rendered: transfer syntax ${transferSyntaxUid} is not supported`);
  const m = readPixelModule(elements);
  const frames = encodedFrames(instance, m, encoding);
  const pixels = m.rows * m.columns;
  let source: VoiSource = 'none';

  if (m.samplesPerPixel === 3) {
    return {
      module: m,
      encoding,
      frames: frames.count,
      render: (index) => ({ width: m.columns, height: m.rows, channels: 3, data: renderColour(m, decodeFrame(frames.get(index), m, encoding)) }),
      voiSource: () => source,
    };
  }

  if (m.photometric === Photometric.PaletteColor) {
    const [r, g, b] = paletteTables(elements, m);
    const scale = (lut: Lut) => (v: number) => clampByte((lookUp(lut, v) * 255) / lut.max);
    const [sr, sg, sb] = [scale(r), scale(g), scale(b)];
    return {
      module: m,
      encoding,
      frames: frames.count,
      render: (index) => {
        const read = sampleReader(m, decodeFrame(frames.get(index), m, encoding).data);
        const out = new Uint8Array(pixels * 3);
        for (let p = 0; p < pixels; p++) {
          const v = read(p);
          out[p * 3] = sr(v);
          out[p * 3 + 1] = sg(v);
          out[p * 3 + 2] = sb(v);
        }
        return { width: m.columns, height: m.rows, channels: 3, data: out };
      },
      voiSource: () => source,
    };
  }

  const modality = modalityTransform(elements, m);
  const invert = m.photometric === Photometric.Monochrome1;
  const window = readWindow(elements) ?? readWindow(functionalGroup(elements, 'FrameVOILUTSequence'));
  const voiItem = firstItem(elements['VOILUTSequence']);
  // The VOI LUT's inputs are modality values: signed when a rescale or the pixels make them so.
  const voiLut = voiItem === undefined ? undefined : readLut(voiItem['LUTDescriptor'], voiItem['LUTData'], true);
  const preset = options.windowPreset === undefined ? undefined : { ...options.windowPreset, fn: VoiFunction.Linear };
  // Stored values are at most 16 bits in all but 32-bit images: one table from stored value to output byte.
  const tableBits = m.bitsAllocated <= 16 ? m.bitsStored : 0;
  const minStored = m.signed ? -(2 ** (m.bitsStored - 1)) : 0;
  let table: Uint8Array | undefined;
  let voi: ((x: number) => number) | undefined;

  const chooseVoi = (read: (i: number) => number): ((x: number) => number) => {
    if (window !== undefined) {
      source = 'window';
      return windowFunction(window);
    }
    if (voiLut !== undefined) {
      source = 'voi-lut';
      return (x) => lookUp(voiLut, x) / voiLut.max;
    }
    if (preset !== undefined) {
      source = 'preset';
      return windowFunction(preset);
    }
    source = 'min-max';
    let min = Infinity;
    let max = -Infinity;
    for (let p = 0; p < pixels; p++) {
      const v = modality.fn(read(p));
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (max <= min) return () => (max > 0 ? 1 : 0);
    return windowFunction({ center: (min + max) / 2, width: max - min, fn: VoiFunction.LinearExact });
  };
  const output = (x: number): number => {
    const y = (voi as (x: number) => number)(modality.fn(x));
    return clampByte((invert ? 1 - y : y) * 255);
  };

  // Table index of a stored word: the bits stored, with the sign bit flipped for signed pixels
  // (two's complement + 2^(bits-1) is the offset from the smallest value).
  const shift = m.highBit + 1 - m.bitsStored;
  const mask = 2 ** m.bitsStored - 1;
  const flip = m.signed ? 2 ** (m.bitsStored - 1) : 0;
  return {
    module: m,
    encoding,
    frames: frames.count,
    render: (index) => {
      const data = decodeFrame(frames.get(index), m, encoding).data;
      const read = sampleReader(m, data);
      voi ??= chooseVoi(read);
      const out = new Uint8Array(pixels);
      if (tableBits > 0) {
        if (table === undefined) {
          table = new Uint8Array(2 ** tableBits);
          for (let i = 0; i < table.length; i++) table[i] = output(i + minStored);
        }
        const t = table;
        // The hot loop of every grey frame: one shift, mask and lookup a pixel, no calls.
        const aligned = m.bitsAllocated === 16 && data.byteOffset % 2 !== 0 ? data.slice() : data;
        const words = m.bitsAllocated === 8 ? aligned : new Uint16Array(aligned.buffer, aligned.byteOffset, pixels);
        if (shift === 0 && flip === 0 && mask === 2 ** m.bitsAllocated - 1) for (let p = 0; p < pixels; p++) out[p] = t[words[p] as number] as number;
        else for (let p = 0; p < pixels; p++) out[p] = t[(((words[p] as number) >>> shift) & mask) ^ flip] as number;
      } else {
        for (let p = 0; p < pixels; p++) out[p] = output(read(p));
      }
      return { width: m.columns, height: m.rows, channels: 1, data: out };
    },
    voiSource: () => source,
  };
}

/** The SOP classes' Modality, for window presets. */
export function modalityOf(elements: Record<string, unknown>): string {
  return text(elements['Modality']).toUpperCase();
}
