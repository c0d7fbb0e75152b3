import { bytesOf, number, numbers } from './dataset.ts';

/** A lookup table as PS3.3 C.11 describes it: entries, the first input value mapped, bits per entry. */
export interface Lut {
  first: number;
  data: Uint16Array | Uint8Array;
  /** The largest value an entry can hold (from its bits, widened if the data holds more). */
  max: number;
}

/**
 * Reads a LUT from its Descriptor and Data. The descriptor's first value is US or SS depending on the
 * pixels (PS3.3 C.11.1.1): a first mapped value above 32767 is negative when the inputs can be.
 */
export function readLut(descriptor: unknown, data: unknown, signedInputs: boolean): Lut | undefined {
  const d = numbers(descriptor);
  if (d.length < 3) return undefined;
  const entries = d[0] === 0 ? 65536 : (d[0] as number);
  let first = d[1] as number;
  if (signedInputs && first > 32767) first -= 65536;
  const bits = d[2] as number;
  let values: Uint16Array | Uint8Array;
  const raw = bytesOf(data);
  if (raw !== undefined) {
    if (raw.byteLength >= entries * 2) {
      const aligned = raw.byteOffset % 2 === 0 ? raw : raw.slice();
      values = new Uint16Array(aligned.buffer, aligned.byteOffset, entries);
    } else if (raw.byteLength >= entries) {
      // Eight-bit entries packed two to a word.
      values = raw.subarray(0, entries);
    } else return undefined;
  } else {
    const list = numbers(data);
    if (list.length < entries) return undefined;
    values = Uint16Array.from(list.slice(0, entries));
  }
  let max = 2 ** bits - 1;
  for (const v of values) if (v > max) max = 65535;
  return { first, data: values, max };
}

export function lookUp(lut: Lut, x: number): number {
  let i = Math.round(x) - lut.first;
  if (i < 0) i = 0;
  else if (i >= lut.data.length) i = lut.data.length - 1;
  return lut.data[i] as number;
}

export const VoiFunction = { Linear: 'LINEAR', LinearExact: 'LINEAR_EXACT', Sigmoid: 'SIGMOID' } as const;
export type VoiFunction = (typeof VoiFunction)[keyof typeof VoiFunction];

export interface Window {
  center: number;
  width: number;
  fn: VoiFunction;
}

/** Window center/width to 0..1, by PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT) and C.11.2.1.3.1 (SIGMOID). */
export function windowFunction(w: Window): (x: number) => number {
  const { center: c, width } = w;
  if (w.fn === VoiFunction.Sigmoid) return (x) => 1 / (1 + Math.exp((-4 * (x - c)) / width));
  if (w.fn === VoiFunction.LinearExact) {
    const low = c - width / 2;
    const high = c + width / 2;
    return (x) => (x <= low ? 0 : x > high ? 1 : (x - c) / width + 0.5);
  }
  const low = c - 0.5 - (width - 1) / 2;
  const high = c - 0.5 + (width - 1) / 2;
  if (width <= 1) return (x) => (x <= low ? 0 : 1);
  return (x) => (x <= low ? 0 : x > high ? 1 : (x - (c - 0.5)) / (width - 1) + 0.5);
}

/** The first Window Center / Width pair of an item, if it has a usable one. */
export function readWindow(item: Record<string, unknown> | undefined): Window | undefined {
  if (item === undefined) return undefined;
  const center = number(item['WindowCenter']);
  const width = number(item['WindowWidth']);
  if (center === undefined || width === undefined || width <= 0) return undefined;
  const fn = String(item['VOILUTFunction'] ?? '').trim().toUpperCase();
  return { center, width, fn: fn === VoiFunction.Sigmoid || fn === VoiFunction.LinearExact ? fn : VoiFunction.Linear };
}
