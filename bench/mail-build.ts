// Child process of the `mail` workload: builds one signed and encrypted mail from the files of a
// directory, as the relay does, and prints the time it took and the process's peak memory (VmHWM).
import { createHash, createPrivateKey } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
// The builder's own modules only: the relay's index pulls in the whole gateway (database, queue, Redis client).
import { cmsCertificate } from '../src/mail/certificate.ts';
import { buildMessage } from '../src/mail/message-builder.ts';

const [dir, signerCert, signerKey, recipientCert, out] = process.argv.slice(2) as [string, string, string, string, string];

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// The archive index knows each file's size and SHA-256; here they are computed first, outside the timing.
const files = [];
for (const name of readdirSync(dir).sort()) {
  const file = path.join(dir, name);
  files.push({ path: file, size: statSync(file).size, sha256: await sha256(file) });
}
const status = (field: string): number => Number((readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '').replace(/\D+/g, '')) * 1024;
const rssBefore = status('VmRSS');
const started = process.hrtime.bigint();
const built = await buildMessage({
  files,
  sendId: 'bench',
  part: 1,
  parts: 1,
  from: 'a@site-a.test',
  to: 'b@partner-b.test',
  messageId: 'bench@site-a.test',
  date: new Date(),
  signer: { certificate: cmsCertificate(readFileSync(signerCert)), key: createPrivateKey(readFileSync(signerKey)) },
  recipient: cmsCertificate(readFileSync(recipientCert)),
  outPath: out,
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(JSON.stringify({ ms, size: built.size, rssBefore, peakRss: status('VmHWM') }));
