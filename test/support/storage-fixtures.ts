import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { dcmtkEnv } from './dcmtk.ts';

/**
 * Test instances, made at test time (no binaries in the repository): a dcmdump-style text with
 * ISO_IR 100 text (a Latin-1 patient name), a private block and 12-bit monochrome pixels, written
 * explicit VR little endian by `dump2dcm`; compressed variants by `dcmcjpeg` / `dcmcrle`.
 */
export interface InstanceFields {
  sopInstanceUid: string;
  sopClassUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  patientId?: string;
  patientName?: string;
  seriesDescription?: string;
  rows?: number;
  columns?: number;
  /** Omit (0008,0018) from the dataset. */
  withoutSopInstanceUid?: boolean;
}

export const ctImageStorage = '1.2.840.10008.5.1.4.1.1.2';

/** 12-bit pixel values (a ramp), little endian 16-bit words. */
function pixels(rows: number, columns: number, seed: number): Buffer {
  const out = Buffer.alloc(rows * columns * 2);
  for (let i = 0; i < rows * columns; i++) out.writeUInt16LE((i * 7 + seed) % 4096, i * 2);
  return out;
}

export function instanceDump(fields: InstanceFields, pixelFile: string): string {
  const rows = fields.rows ?? 128;
  const columns = fields.columns ?? 160;
  return [
    '(0008,0005) CS [ISO_IR 100]',
    `(0008,0016) UI [${fields.sopClassUid ?? ctImageStorage}]`,
    ...(fields.withoutSopInstanceUid === true ? [] : [`(0008,0018) UI [${fields.sopInstanceUid}]`]),
    '(0008,0020) DA [20260315]',
    '(0008,0030) TM [101500]',
    '(0008,0050) SH [ACC123]',
    '(0008,0060) CS [CT]',
    '(0008,1030) LO [Thorax nativ]',
    `(0008,103e) LO [${fields.seriesDescription ?? 'Serie eins'}]`,
    `(0010,0010) PN [${fields.patientName ?? 'Müller^Jürgen'}]`,
    `(0010,0020) LO [${fields.patientId ?? 'PAT-1'}]`,
    '(0010,0030) DA [19700301]',
    '(0010,0040) CS [M]',
    `(0020,000d) UI [${fields.studyInstanceUid ?? '1.2.826.0.1.3680043.2.1125.1.1'}]`,
    `(0020,000e) UI [${fields.seriesInstanceUid ?? '1.2.826.0.1.3680043.2.1125.1.2'}]`,
    '(0020,0011) IS [3]',
    '(0020,0013) IS [1]',
    '(0028,0002) US 1',
    '(0028,0004) CS [MONOCHROME2]',
    `(0028,0010) US ${rows}`,
    `(0028,0011) US ${columns}`,
    '(0028,0100) US 16',
    '(0028,0101) US 12',
    '(0028,0102) US 11',
    '(0028,0103) US 0',
    '(0029,0010) LO [ACME 1.0]',
    '(0029,1010) LO [private value kept]',
    '(0029,1011) OB 01\\02\\03\\04',
    `(7fe0,0010) OW =${path.basename(pixelFile)}`,
  ].join('\n');
}

/** Writes an explicit VR little endian Part 10 file; returns its path. */
export function makeInstance(dir: string, name: string, fields: InstanceFields): string {
  const pixelFile = path.join(dir, `${name}.raw`);
  writeFileSync(pixelFile, pixels(fields.rows ?? 128, fields.columns ?? 160, name.length));
  // dump2dcm resolves `=file` relative to its working directory.
  const dumpFile = path.join(dir, `${name}.dump`);
  const out = path.join(dir, name);
  writeFileSync(dumpFile, Buffer.from(instanceDump(fields, pixelFile), 'latin1'));
  execFileSync('dump2dcm', ['+te', dumpFile, out], { env: dcmtkEnv, stdio: 'pipe', cwd: dir });
  return out;
}

/** A compressed copy: `jpeg-lossless` (dcmcjpeg, process 14 SV1) or `rle` (dcmcrle); `big-endian` (dcmconv +tb) for explicit VR big endian. */
export function compress(file: string, kind: 'jpeg-lossless' | 'rle' | 'big-endian'): string {
  const out = `${file}.${kind}`;
  if (kind === 'big-endian') execFileSync('dcmconv', ['+tb', file, out], { env: dcmtkEnv, stdio: 'pipe' });
  else if (kind === 'jpeg-lossless') execFileSync('dcmcjpeg', ['+e1', file, out], { env: dcmtkEnv, stdio: 'pipe' });
  else execFileSync('dcmcrle', [file, out], { env: dcmtkEnv, stdio: 'pipe' });
  return out;
}

/** The dataset of a Part 10 file: the bytes after its meta header. */
export function datasetBytes(file: string): Buffer {
  const bytes = readFileSync(file);
  if (bytes.toString('latin1', 128, 132) !== 'DICM') throw new Error(`${file} is not a Part 10 file`);
  const groupLength = bytes.readUInt32LE(140);
  return bytes.subarray(144 + groupLength);
}

