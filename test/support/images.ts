import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { dcmtkEnv } from './dcmtk.ts';

/** How DCMTK chooses the grey levels: the first window (`+Wi 1`), the first VOI LUT (`+Wl 1`), min/max (`+Wm`), or none (colour). */
export type ReferenceVoi = 'window' | 'voi-lut' | 'min-max' | 'none';

/** Which program decodes the reference: dcmj2pnm, dcml2pnm (JPEG-LS), or dcmj2pnm after `gdcmconv --raw` (JPEG 2000). */
export type ReferenceDecoder = 'dcmj2pnm' | 'dcml2pnm' | 'gdcm-raw';

export interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** DCMTK's rendering of frame 1 of `file` as 8-bit PNG, read back. */
export async function dcmtkRendering(file: string, voi: ReferenceVoi, decoder: ReferenceDecoder = 'dcmj2pnm'): Promise<Pixels> {
  let input = file;
  if (decoder === 'gdcm-raw') {
    input = `${file}.raw.dcm`;
    execFileSync('gdcmconv', ['--raw', file, input], { stdio: 'pipe' });
  }
  const png = path.join(path.dirname(file), `${path.basename(file)}.ref.png`);
  const voiArgs = { window: ['+Wi', '1'], 'voi-lut': ['+Wl', '1'], 'min-max': ['+Wm'], none: [] }[voi];
  execFileSync(decoder === 'dcml2pnm' ? 'dcml2pnm' : 'dcmj2pnm', ['+on', ...voiArgs, input, png], { stdio: 'pipe', env: dcmtkEnv });
  const bytes = readFileSync(png);
  const { channels } = await sharp(bytes).metadata();
  // sharp hands grey back as sRGB unless told to keep one band.
  const image = channels === 1 ? sharp(bytes).extractChannel(0) : sharp(bytes).removeAlpha();
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** Mean absolute difference per sample, in grey levels of 255. */
export function meanAbsoluteDifference(a: Pixels, b: Pixels): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`shapes differ: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`);
  }
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs((a.data[i] as number) - (b.data[i] as number));
  return sum / a.data.length;
}
