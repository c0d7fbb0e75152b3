import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { number, text } from './dataset.ts';

export const Photometric = {
  Monochrome1: 'MONOCHROME1',
  Monochrome2: 'MONOCHROME2',
  PaletteColor: 'PALETTE COLOR',
  Rgb: 'RGB',
  YbrFull: 'YBR_FULL',
  YbrFull422: 'YBR_FULL_422',
  YbrPartial422: 'YBR_PARTIAL_422',
  YbrPartial420: 'YBR_PARTIAL_420',
  YbrIct: 'YBR_ICT',
  YbrRct: 'YBR_RCT',
} as const;
export type Photometric = (typeof Photometric)[keyof typeof Photometric];
const photometrics: readonly string[] = Object.values(Photometric);

/** The Image Pixel module of an instance: what it takes to read its frames. */
export interface PixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  photometric: Photometric;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  /** 1: each frame holds all red, then all green, then all blue. */
  planar: boolean;
  frames: number;
}

/**
 * Reads the Image Pixel module; throws a GatewayError naming every attribute that is missing or that
 * we cannot render (e.g. 1-bit or 12-bit-allocated pixels, an unknown photometric interpretation).
 */
export function readPixelModule(elements: Record<string, unknown>): PixelModule {
  const issues: FieldIssue[] = [];
  const need = (keyword: string, value: number | undefined, ok: (n: number) => boolean, rule: string): number => {
    if (value === undefined) issues.push({ path: keyword, message: 'missing' });
    else if (!ok(value)) issues.push({ path: keyword, message: `${value}: ${rule}` });
    return value ?? 0;
  };
  const rows = need('Rows', number(elements['Rows']), (n) => Number.isInteger(n) && n > 0, 'must be a positive whole number');
  const columns = need('Columns', number(elements['Columns']), (n) => Number.isInteger(n) && n > 0, 'must be a positive whole number');
  const samples = need('SamplesPerPixel', number(elements['SamplesPerPixel']) ?? 1, (n) => n === 1 || n === 3, 'only 1 or 3 samples per pixel are rendered');
  const bitsAllocated = need('BitsAllocated', number(elements['BitsAllocated']), (n) => n === 8 || n === 16 || n === 32, 'only 8, 16 or 32 bits allocated are rendered');
  const bitsStored = need('BitsStored', number(elements['BitsStored']) ?? bitsAllocated, (n) => Number.isInteger(n) && n >= 1 && n <= bitsAllocated, `must be 1 to BitsAllocated (${bitsAllocated})`);
  const highBit = need('HighBit', number(elements['HighBit']) ?? bitsStored - 1, (n) => Number.isInteger(n) && n >= bitsStored - 1 && n < bitsAllocated, 'must be at least BitsStored - 1 and below BitsAllocated');
  const representation = need('PixelRepresentation', number(elements['PixelRepresentation']) ?? 0, (n) => n === 0 || n === 1, 'must be 0 or 1');
  const photometric = text(elements['PhotometricInterpretation']).toUpperCase();
  if (photometric === '') issues.push({ path: 'PhotometricInterpretation', message: 'missing' });
  else if (!photometrics.includes(photometric)) issues.push({ path: 'PhotometricInterpretation', message: `${photometric}: not rendered (known: ${photometrics.join(', ')})` });
  else {
    const colour = !photometric.startsWith('MONOCHROME') && photometric !== Photometric.PaletteColor;
    if (colour !== (samples === 3)) issues.push({ path: 'SamplesPerPixel', message: `${samples} does not fit ${photometric}` });
  }
  const frames = number(elements['NumberOfFrames']) ?? 1;
  if (!Number.isInteger(frames) || frames < 1) issues.push({ path: 'NumberOfFrames', message: `${frames}: must be a positive whole number` });
  if (issues.length > 0) {
    throw new GatewayError(ErrorCode.Invalid, `the image cannot be rendered: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, { issues });
  }
  return {
    rows,
    columns,
    samplesPerPixel: samples as 1 | 3,
    photometric: photometric as Photometric,
    bitsAllocated: bitsAllocated as 8 | 16 | 32,
    bitsStored,
    highBit,
    signed: representation === 1,
    planar: samples === 3 && number(elements['PlanarConfiguration']) === 1,
    frames,
  };
}

/** Bytes of one uncompressed frame. */
export function frameBytes(m: PixelModule): number {
  return m.rows * m.columns * m.samplesPerPixel * (m.bitsAllocated / 8);
}
