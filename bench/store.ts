// C-STORE: 1,000 CT-like instances of about 40 KB, from 4 parallel storescu associations and from
// one; our gateway (fsync'd, indexed) against DCMTK storescp (writes files, no fsync, no index) and
// Orthanc from Debian (files plus its SQLite index).
// Fixtures: one dump2dcm template (128x160 12-bit pixels in 16-bit words, a Latin-1 name, a private
// block); the 1,000 copies get distinct SOP Instance UIDs by patching the template's UID bytes (all
// UIDs have the same length), in the meta header and the dataset alike. Each round gets fresh UIDs,
// so that our gateway stores new instances every time (never the duplicate path).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeInstance } from '../fixtures/instances.ts';
import { startOrthanc, startStorescp, tempDir, timed, type BenchContext, type Measurement, type Workload } from './support.ts';

const instances = 1000;
const parallel = 4;
const uidRoot = '1.2.826.0.1.3680043.2.1125.77';

/** `<root>.<100 + batch>.<1000000 + i>`: the same length for every batch below 900 and i below 9,000,000. */
function sopUid(batch: number, i: number): string {
  return `${uidRoot}.${100 + batch}.${1_000_000 + i}`;
}

function template(dir: string): Buffer {
  return readFileSync(makeInstance(dir, 'template.dcm', { sopInstanceUid: sopUid(0, 0), studyInstanceUid: `${uidRoot}.1`, seriesInstanceUid: `${uidRoot}.2`, patientId: 'BENCH-1' }));
}

/** Writes the round's instances into `parallel` subfolders; returns them. */
function writeRound(base: Buffer, dir: string, round: number): string[] {
  const from = Buffer.from(sopUid(0, 0), 'latin1');
  const folders = Array.from({ length: parallel }, (_, k) => path.join(dir, `r${round}-${k}`));
  for (const folder of folders) mkdirSync(folder, { recursive: true });
  for (let i = 0; i < instances; i++) {
    const bytes = Buffer.from(base);
    const to = Buffer.from(sopUid(round, i), 'latin1');
    for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + to.length)) to.copy(bytes, at);
    writeFileSync(path.join(folders[i % parallel] as string, `${i}.dcm`), bytes);
  }
  return folders;
}

async function send(port: number, aeTitle: string, folders: readonly string[], associations: number): Promise<number> {
  const args = (dirs: readonly string[]) => ['-aet', 'BENCH', '-aec', aeTitle, '+sd', '127.0.0.1', String(port), ...dirs];
  const started = process.hrtime.bigint();
  if (associations === 1) await timed('storescu', args(folders));
  else await Promise.all(folders.map((folder) => timed('storescu', args([folder]))));
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * The floor any durable receiver pays on this disk: each file written, renamed into place, then the
 * file and its directory fsync'd, by `writers` concurrent writers; no network, no DICOM, no index.
 */
async function durabilityFloor(dir: string, bytes: Buffer, writers: number): Promise<number> {
  const incoming = path.join(dir, 'incoming');
  const archive = path.join(dir, 'archive');
  await mkdir(incoming, { recursive: true });
  await mkdir(archive, { recursive: true });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, k) => {
      for (let i = k; i < instances; i += writers) {
        const temp = path.join(incoming, `${i}.part`);
        const target = path.join(archive, `${i}.dcm`);
        await writeFile(temp, bytes);
        await rename(temp, target);
        const [file, folder] = await Promise.all([open(target, 'r'), open(archive, 'r')]);
        await Promise.all([file.sync(), folder.sync()]);
        await Promise.all([file.close(), folder.close()]);
      }
    }),
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rmSync(incoming, { recursive: true, force: true });
  rmSync(archive, { recursive: true, force: true });
  return ms;
}

export const storeWorkload: Workload = {
  name: 'store',
  description: `C-STORE of ${instances} CT instances (~40 KB): ${parallel} parallel storescu associations, and one`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const dir = tempDir('gw-bench-store-');
    const peers = [
      { name: 'storescp', ...(await startStorescp()) },
      { name: 'Orthanc', ...(await startOrthanc()) },
    ];
    const gw = ctx.gateway;
    const targets = [{ name: 'ours', port: gw.dicomPort, aeTitle: gw.aeTitle }, ...peers];
    try {
      const base = template(dir);
      // One series of our times per mode, shown against each peer.
      const oursPar: number[] = [];
      const oursOne: number[] = [];
      const par = peers.map((p): Measurement => ({ name: `${instances} instances, ${parallel} parallel associations, wall time`, unit: 'ms', ours: oursPar, peer: [], peerName: p.name }));
      const one = peers.map((p): Measurement => ({ name: `${instances} instances, one association, wall time`, unit: 'ms', ours: oursOne, peer: [], peerName: p.name }));
      // What fsync alone costs here, against the same storescp times: the part of our ratio no code can remove.
      const floorPar: Measurement = { name: `durability floor: ${instances} files written, renamed, file and directory fsync'd, ${parallel} writers`, unit: 'ms', oursName: 'fsync floor', ours: [], peer: par[0]?.peer ?? [], peerName: 'storescp' };
      const floorOne: Measurement = { name: `durability floor: the same, one writer`, unit: 'ms', oursName: 'fsync floor', ours: [], peer: one[0]?.peer ?? [], peerName: 'storescp' };
      // Round 0 warms up every target (JIT, page cache) and is not counted.
      for (let round = 0; round <= ctx.rounds; round++) {
        // Alternate the order so that no target always runs on a cold or a hot page cache.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        const folders = writeRound(base, dir, 2 * round + 1);
        for (const t of order) {
          const ms = await send(t.port, t.aeTitle, folders, parallel);
          if (round > 0) (t.name === 'ours' ? oursPar : par[peers.findIndex((p) => p.name === t.name)]?.peer)?.push(ms);
        }
        // The single association sends other instances: new UIDs for every target.
        const again = writeRound(base, dir, 2 * round + 2);
        for (const t of order) {
          const ms = await send(t.port, t.aeTitle, again, 1);
          if (round > 0) (t.name === 'ours' ? oursOne : one[peers.findIndex((p) => p.name === t.name)]?.peer)?.push(ms);
        }
        for (const folder of [...folders, ...again]) rmSync(folder, { recursive: true, force: true });
        const floors = [await durabilityFloor(dir, base, parallel), await durabilityFloor(dir, base, 1)];
        if (round > 0) {
          floorPar.ours.push(floors[0] as number);
          floorOne.ours.push(floors[1] as number);
        }
        ctx.log(`store round ${round}/${ctx.rounds} done${round === 0 ? ' (warm-up)' : ''}`);
      }
      return [...par, ...one, floorPar, floorOne];
    } finally {
      for (const p of peers) await p.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
