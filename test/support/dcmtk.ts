import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** DCMTK tools run with Nagle off, as the guide says they must be for fair timings on loopback. */
export const dcmtkEnv = { ...process.env, TCP_NODELAY: '1' };

/**
 * Writes a dataset with `dump2dcm` from a dcmdump-style text. `latin1` writes the dump's bytes in
 * ISO 8859-1 (for a dataset whose (0008,0005) says ISO_IR 100); `bare` writes no file meta header.
 */
export function dump2dcm(dir: string, name: string, dump: string, options: { latin1?: boolean; bare?: boolean } = {}): string {
  const dumpFile = path.join(dir, `${name}.dump`);
  const out = path.join(dir, name);
  writeFileSync(dumpFile, Buffer.from(dump, options.latin1 === true ? 'latin1' : 'utf8'));
  execFileSync('dump2dcm', [...(options.bare === true ? ['-F', '+te'] : []), dumpFile, out], { env: dcmtkEnv, stdio: 'pipe' });
  return out;
}

/** A worklist entry as dcmdump text; `charset` goes into (0008,0005). */
export function worklistDump(fields: { name: string; id: string; accession: string; modality: string; station: string; date: string; time?: string; stepId?: string; charset?: string; description?: string }): string {
  return [
    ...(fields.charset === undefined ? [] : [`(0008,0005) CS [${fields.charset}]`]),
    `(0008,0050) SH [${fields.accession}]`,
    `(0010,0010) PN [${fields.name}]`,
    `(0010,0020) LO [${fields.id}]`,
    `(0010,0030) DA [19700301]`,
    `(0010,0040) CS [M]`,
    `(0032,1060) LO [${fields.description ?? 'Untersuchung'}]`,
    `(0040,0100) SQ (Sequence with explicit length #=1)`,
    `  (fffe,e000) na (Item with explicit length #=5)`,
    `    (0008,0060) CS [${fields.modality}]`,
    `    (0040,0001) AE [${fields.station}]`,
    `    (0040,0002) DA [${fields.date}]`,
    `    (0040,0003) TM [${fields.time ?? '090000'}]`,
    `    (0040,0009) SH [${fields.stepId ?? 'S1'}]`,
    `  (fffe,e00d) na (ItemDelimitationItem for re-encoding)`,
    `(fffe,e0dd) na (SequenceDelimitationItem for re-encoding)`,
    `(0040,1001) SH [RP-${fields.accession}]`,
  ].join('\n');
}
