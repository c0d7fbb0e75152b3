// Modality Worklist C-FIND at 10,000 items: one query for one modality, one station and one month
// (about 30 answers), our gateway against DCMTK wlmscpfs serving the same items as .wl files.
// Then ours alone at 100,000 items (the extra ones in other years, so the answer stays the same size).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';
import { Database, WorklistRepository } from '../src/db/index.ts';
import { encodeDataset } from '../src/dicom/index.ts';
import { normalizeWorklistInput } from '../src/domain/worklist-input.ts';
import { WorklistSource } from '../src/domain/worklist-item.ts';
import { keywordsToDicomJson } from '../src/worklist/dicom-json.ts';
import { itemKeywords } from '../src/worklist/index.ts';
import { dcmtkEnv, freePort, portOpen, tempDir, timed, type BenchContext, type Measurement, type Workload } from './support.ts';

const modalities = ['US', 'CR', 'DX', 'ES', 'MR'];
const stationsPerModality = 5;
const queriesPerAssociation = 50;

/** Item `i` of the generated worklist: spread over 12 months of 2026 (`years` > 1: over more years). */
function order(i: number, years: number): Record<string, unknown> {
  const modality = modalities[i % modalities.length] as string;
  const station = `${modality}_${Math.floor(i / modalities.length) % stationsPerModality}`;
  const year = 2026 + (Math.floor(i / 7) % years);
  const month = 1 + (Math.floor(i / 3) % 12);
  const day = 1 + (i % 28);
  return {
    PatientName: `Patient${i}^Bench`,
    PatientID: `PID${i}`,
    PatientBirthDate: '19700101',
    PatientSex: i % 2 === 0 ? 'F' : 'M',
    AccessionNumber: `ACC${i}`,
    RequestedProcedureDescription: 'Benchmark examination',
    StudyInstanceUID: `1.2.826.0.1.3680043.10.999.${i + 1}`,
    ScheduledProcedureStepSequence: [
      {
        Modality: modality,
        ScheduledStationAETitle: station,
        ScheduledProcedureStepStartDate: `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`,
        ScheduledProcedureStepStartTime: `${String(8 + (i % 9)).padStart(2, '0')}${String((i * 7) % 60).padStart(2, '0')}00`,
        ScheduledProcedureStepID: 'S1',
        // wlmscpfs ignores items without a step description (or protocol code): "incomplete".
        ScheduledProcedureStepDescription: 'Benchmark step',
      },
    ],
  };
}

const ctxOf = { timeZone: 'Europe/Berlin', uidRoot: '2.25', stationFor: () => undefined };

/** Writes items [from, to) straight into the gateway's database (a second SQLite writer is safe in WAL). */
function seedGateway(dbFile: string, from: number, to: number, years: number): void {
  const db = Database.open({ file: dbFile });
  const repository = new WorklistRepository(db);
  const now = new Date().toISOString();
  for (let start = from; start < to; start += 2000) {
    db.transaction((tx) => {
      for (let i = start; i < Math.min(to, start + 2000); i++) {
        repository.save(tx, { id: randomUUID(), data: normalizeWorklistInput(order(i, years), ctxOf), source: WorklistSource.Api, sourceFile: null, partition: '' }, now);
      }
    });
  }
  db.close();
}

/** The same items as .wl files (Part 10) for wlmscpfs, in `<dir>/<AE title>/`. */
function writeWlFiles(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'lockfile'), '');
  const { DicomDict } = dcmjs.data;
  for (let i = 0; i < count; i++) {
    const data = normalizeWorklistInput(order(i, 1), ctxOf);
    const dataset = keywordsToDicomJson(itemKeywords(data));
    dataset['00080005'] = { vr: 'CS', Value: ['ISO_IR 100'] };
    // wlmscpfs calls an item with a zero-length code sequence "incomplete" and skips it.
    delete dataset['00321064'];
    for (const step of dataset['00400100']?.Value ?? []) delete (step as Record<string, unknown>)['00400008'];
    const meta = {
      '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
      '00020002': { vr: 'UI', Value: ['1.2.276.0.7230010.3.1.0.1'] },
      '00020003': { vr: 'UI', Value: [`1.2.826.0.1.3680043.10.999.9.${i + 1}`] },
      '00020010': { vr: 'UI', Value: ['1.2.840.10008.1.2.1'] },
      '00020012': { vr: 'UI', Value: ['1.2.826.0.1.3680043.10.854'] },
    };
    const body = encodeDataset(dataset, '1.2.840.10008.1.2.1', 'ISO_IR 100');
    const header = Buffer.from(new DicomDict(meta).write({ fragmentMultiframe: false }));
    writeFileSync(path.join(dir, `item${i}.wl`), Buffer.concat([header, body]));
  }
}

async function startWlmscpfs(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn('wlmscpfs', ['-dfp', dir, String(port)], { env: dcmtkEnv, stdio: 'ignore' });
  const until = Date.now() + 20_000;
  while (!(await portOpen(port))) {
    if (Date.now() > until) throw new Error('wlmscpfs did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The query: one modality, one station, one month; common return keys. */
function findArgs(aeTitle: string, port: number, repeat?: number, quiet = true): string[] {
  return [
    '-W',
    // findscu prints every answer by default: the client's printing would be timed along with the server.
    ...(quiet ? ['-q'] : []),
    ...(repeat === undefined ? [] : ['--repeat', String(repeat)]),
    '-aec',
    aeTitle,
    '-k', 'PatientName',
    '-k', 'PatientID',
    '-k', 'PatientBirthDate',
    '-k', 'PatientSex',
    '-k', 'AccessionNumber',
    '-k', 'StudyInstanceUID',
    '-k', 'RequestedProcedureID',
    '-k', 'RequestedProcedureDescription',
    '-k', 'ScheduledProcedureStepSequence[0].Modality=US',
    '-k', 'ScheduledProcedureStepSequence[0].ScheduledStationAETitle=US_2',
    '-k', 'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20261101-20261130',
    '-k', 'ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime',
    '-k', 'ScheduledProcedureStepSequence[0].ScheduledProcedureStepID',
    '127.0.0.1',
    String(port),
  ];
}

/** Counts the answers of one run, to make sure both sides answer the same query alike. */
function countAnswers(aeTitle: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('findscu', ['-v', ...findArgs(aeTitle, port, undefined, false)], { env: dcmtkEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve((out.match(/Find Response:? \d+ \(Pending\)/g) ?? []).length));
  });
}

export const worklistWorkload: Workload = {
  name: 'worklist',
  description: 'MWL C-FIND: one modality, one station, one month (about 30 answers); 10,000 items vs wlmscpfs, then 100,000 (ours)',
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const gw = ctx.gateway;
    const dbFile = path.join(gw.dataDir, 'data', 'gateway.db');
    ctx.log('seeding 10,000 items into the gateway and as .wl files');
    seedGateway(dbFile, 0, 10_000, 1);
    const wlDir = tempDir('gw-bench-wl-');
    writeWlFiles(path.join(wlDir, 'WLMSCP'), 10_000);
    const peer = await startWlmscpfs(wlDir);
    try {
      const ours = await countAnswers(gw.aeTitle, gw.dicomPort);
      const theirs = await countAnswers('WLMSCP', peer.port);
      ctx.log(`answers: ours ${ours}, wlmscpfs ${theirs}`);
      if (ours !== theirs || ours === 0) throw new Error(`the two answer differently: ours ${ours}, wlmscpfs ${theirs}`);
      const run: Measurement = { name: `findscu -W run at 10,000 items (${ours} answers, incl. process start)`, unit: 'ms', ours: [], peer: [], peerName: 'wlmscpfs' };
      const perQuery: Measurement = { name: `per query over one association at 10,000 items (findscu --repeat ${queriesPerAssociation})`, unit: 'ms', ours: [], peer: [], peerName: 'wlmscpfs' };
      for (let round = 0; round < ctx.rounds; round++) {
        const order = round % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const);
        for (const who of order) {
          const [ae, port] = who === 'ours' ? [gw.aeTitle, gw.dicomPort] : ['WLMSCP', peer.port];
          run[who]?.push(await timed('findscu', findArgs(ae, port)));
          // wlmscpfs re-reads every file per query: fewer repeats keep the run short, the per-query figure is the same.
          const repeat = who === 'ours' ? queriesPerAssociation : 5;
          perQuery[who]?.push((await timed('findscu', findArgs(ae, port, repeat))) / repeat);
        }
        ctx.log(`worklist round ${round + 1}/${ctx.rounds} done`);
      }
      ctx.log('seeding 90,000 more items (other years) into the gateway');
      seedGateway(dbFile, 10_000, 100_000, 10);
      const big: Measurement = { name: `per query over one association at 100,000 items (findscu --repeat ${queriesPerAssociation})`, unit: 'ms', ours: [] };
      const answersAtBig = await countAnswers(gw.aeTitle, gw.dicomPort);
      ctx.log(`answers at 100,000: ${answersAtBig}`);
      for (let round = 0; round < ctx.rounds; round++) big.ours.push((await timed('findscu', findArgs(gw.aeTitle, gw.dicomPort, queriesPerAssociation))) / queriesPerAssociation);
      return [run, perQuery, big];
    } finally {
      await peer.stop();
      rmSync(wlDir, { recursive: true, force: true });
    }
  },
};
