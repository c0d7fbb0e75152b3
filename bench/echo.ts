// C-ECHO: many echoes over one association, and many short associations; our gateway against
// DCMTK storescp, both driven by echoscu with TCP_NODELAY=1.
import { startStorescp, timed, type BenchContext, type Measurement, type Workload } from './support.ts';

const echoesPerAssociation = 2000;
const shortAssociations = 40;

async function oneAssociation(port: number, aeTitle: string): Promise<number> {
  const ms = await timed('echoscu', ['--repeat', String(echoesPerAssociation), '-aec', aeTitle, '127.0.0.1', String(port)]);
  return ms / echoesPerAssociation;
}

async function manyAssociations(port: number, aeTitle: string): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < shortAssociations; i++) await timed('echoscu', ['-aec', aeTitle, '127.0.0.1', String(port)]);
  return Number(process.hrtime.bigint() - started) / 1e6 / shortAssociations;
}

export const echoWorkload: Workload = {
  name: 'echo',
  description: `C-ECHO: echoscu --repeat ${echoesPerAssociation} over one association; ${shortAssociations} sequential one-echo associations (each an echoscu process)`,
  async run(ctx: BenchContext): Promise<Measurement[]> {
    const peer = await startStorescp();
    const gw = ctx.gateway;
    try {
      // Warm-up: JIT, first-connection costs.
      await oneAssociation(gw.dicomPort, gw.aeTitle);
      await oneAssociation(peer.port, peer.aeTitle);
      const repeat: Measurement = { name: `C-ECHO over one association, per echo (${echoesPerAssociation} echoes)`, unit: 'ms', ours: [], peer: [], peerName: 'storescp' };
      const short: Measurement = { name: 'C-ECHO, one association per echo, per association (incl. echoscu process)', unit: 'ms', ours: [], peer: [], peerName: 'storescp' };
      for (let round = 0; round < ctx.rounds; round++) {
        // Alternate who goes first, so that drift on the machine hits both alike.
        const order = round % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const);
        for (const who of order) {
          const [port, ae] = who === 'ours' ? [gw.dicomPort, gw.aeTitle] : [peer.port, peer.aeTitle];
          repeat[who]?.push(await oneAssociation(port, ae));
          short[who]?.push(await manyAssociations(port, ae));
        }
        ctx.log(`echo round ${round + 1}/${ctx.rounds} done`);
      }
      return [repeat, short];
    } finally {
      await peer.stop();
    }
  },
};
