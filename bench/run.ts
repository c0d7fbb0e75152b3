// The benchmark harness: `npm run bench` runs every workload, `npm run bench -- echo` only those named.
// Prints per measurement the median of our gateway, of the reference peer, their ratio, and at the end
// the peak resident memory of the gateway process. A workload is one module exporting a `Workload`
// plus one line in the list below.
import { echoWorkload } from './echo.ts';
import { jobsWorkload } from './jobs.ts';
import { mailTransportWorkload } from './mail-transport.ts';
import { mailWorkload } from './mail.ts';
import { renderWorkload } from './render.ts';
import { storeLargeWorkload } from './store-large.ts';
import { storeWorkload } from './store.ts';
import { worklistWorkload } from './worklist.ts';
import { median, startGatewayProcess, type Measurement, type Workload } from './support.ts';

const workloads: readonly Workload[] = [echoWorkload, worklistWorkload, jobsWorkload, storeWorkload, storeLargeWorkload, renderWorkload, mailWorkload, mailTransportWorkload];

const MiB = 1024 * 1024;

function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toFixed(3);
}

function report(measurements: readonly Measurement[]): void {
  for (const m of measurements) {
    const ours = median(m.ours);
    let line = `  ${m.name}\n    ${m.oursName ?? 'ours'} ${fmt(ours)} ${m.unit} (median of ${m.ours.length})`;
    if (m.peer !== undefined && m.peer.length > 0) {
      const peer = median(m.peer);
      line += `; ${m.peerName ?? 'peer'} ${fmt(peer)} ${m.unit}; ratio ${m.oursName ?? 'ours'}/${m.peerName ?? 'peer'} ${(ours / peer).toFixed(2)}`;
    }
    process.stdout.write(`${line}\n`);
  }
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !workloads.some((x) => x.name === w));
  if (unknown.length > 0) {
    process.stderr.write(`unknown workload(s): ${unknown.join(', ')}; known: ${workloads.map((w) => w.name).join(', ')}\n`);
    return 2;
  }
  const selected = wanted.length === 0 ? workloads : workloads.filter((w) => wanted.includes(w.name));
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
  const gateway = await startGatewayProcess();
  const idleRss = gateway.currentRss();
  process.stdout.write(`dicom-gateway benchmark (Node ${process.version}, ${rounds} rounds; DCMTK with TCP_NODELAY=1)\n`);
  try {
    for (const workload of selected) {
      process.stdout.write(`\n${workload.name}: ${workload.description}\n`);
      const measurements = await workload.run({ gateway, rounds, log: (line) => process.stderr.write(`  .. ${line}\n`) });
      report(measurements);
    }
    process.stdout.write(`\ngateway memory: RSS at start ${(idleRss / MiB).toFixed(0)} MiB, peak ${(gateway.peakRss() / MiB).toFixed(0)} MiB, now ${(gateway.currentRss() / MiB).toFixed(0)} MiB\n`);
  } finally {
    await gateway.stop();
  }
  return 0;
}

process.exitCode = await main();
