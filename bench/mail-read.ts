// Child process of the `mail` workload: opens a received mail as the relay does (decrypt, verify
// against the partner's certificate, check the manifest, decode the files) and prints the time it
// took and the process's peak memory (VmHWM).
import { createPrivateKey } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { cmsCertificate } from '../src/mail/certificate.ts';
import { readMessage } from '../src/mail/message-reader.ts';

const [mail, workDir, ourCert, ourKey, partnerCert] = process.argv.slice(2) as [string, string, string, string, string];
const status = (field: string): number => Number((readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) ?? '').replace(/\D+/g, '')) * 1024;
const started = process.hrtime.bigint();
const outcome = await readMessage({
  rawPath: mail,
  workDir,
  ours: { certificate: cmsCertificate(readFileSync(ourCert)), key: createPrivateKey(readFileSync(ourKey)) },
  partnerCertificate: cmsCertificate(readFileSync(partnerCert)),
  now: new Date(),
  limits: { maxParts: 100_000 },
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
rmSync(workDir, { recursive: true, force: true });
if (outcome.kind !== 'verified') throw new Error(`not verified: ${outcome.reason}`);
process.stdout.write(JSON.stringify({ ms, files: outcome.files.length, peakRss: status('VmHWM'), rssBefore: 0 }));
