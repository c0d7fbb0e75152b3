// Child process of the `mail` workload, OpenPGP side: `build <studyDir> <ourKey.asc> <passphrase>
// <partnerKey.asc> <out>` makes one PGP/MIME mail as the relay does; `read <mail> <workDir> <ourKey.asc>
// <passphrase> <partnerKey.asc>` opens one (decrypt, verify, manifest, decode). Prints the time it
// took and the process's peak memory (VmHWM).
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
// The mail modules only: the relay's index pulls in the whole gateway.
import { buildPgpMessage } from '../src/mail/pgp-builder.ts';
import { loadOpenPgpIdentities } from '../src/mail/pgp-identity.ts';
import type { MailboxConfig } from '../src/mail/identity.ts';
import { readPartnerKey } from '../src/mail/pgp-keys.ts';
import { pgpConfig, strictAllowance } from '../src/mail/pgp-policy.ts';
import { readPgpMessage } from '../src/mail/pgp-reader.ts';

const [mode, input, second, ourKey, passphrase, partnerKey] = process.argv.slice(2) as [string, string, string, string, string, string];
const status = (field: string): number => Number((readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '').replace(/\D+/g, '')) * 1024;
const ours = (await loadOpenPgpIdentities([{ name: 'bench', openpgp: { key: ourKey, passphrase } } as unknown as MailboxConfig])).get('bench');
const partner = (await readPartnerKey(readFileSync(partnerKey, 'utf8'), strictAllowance, new Date())).key;
if (ours === undefined || partner === undefined) throw new Error('keys not usable');

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

if (mode === 'build') {
  const files = [];
  for (const name of readdirSync(input).sort()) {
    const file = path.join(input, name);
    files.push({ path: file, size: statSync(file).size, sha256: await sha256(file) });
  }
  const rssBefore = status('VmRSS');
  const started = process.hrtime.bigint();
  const built = await buildPgpMessage({ files, sendId: 'bench', part: 1, parts: 1, from: 'a@site-a.test', to: 'b@partner-b.test', messageId: 'bench@site-a.test', date: new Date(), signer: ours, recipient: partner, config: pgpConfig(strictAllowance), outPath: second });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(JSON.stringify({ ms, size: built.size, rssBefore, peakRss: status('VmHWM') }));
} else {
  const started = process.hrtime.bigint();
  const outcome = await readPgpMessage({ rawPath: input, workDir: second, ours, partner: { key: partner, config: pgpConfig(strictAllowance) }, limits: { maxParts: 100_000 } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rmSync(second, { recursive: true, force: true });
  if (outcome.kind !== 'verified') throw new Error(`not verified: ${outcome.reason}`);
  process.stdout.write(JSON.stringify({ ms, files: outcome.files.length, peakRss: status('VmHWM'), rssBefore: 0 }));
}
