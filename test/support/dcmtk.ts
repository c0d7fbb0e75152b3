import { execFile, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, as DCMTK logs to both. */
  output: string;
}

/** Environment for DCMTK peers: Nagle off, or loopback DICOM is ten times slower. */
export const dcmtkEnv = { ...process.env, TCP_NODELAY: '1' };

/** Runs a DCMTK tool to its end; never rejects on a non-zero exit (tests look at the code). */
export function runTool(tool: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env: dcmtkEnv, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr, output: `${stdout}${stderr}` });
    });
  });
}

/** Starts a DCMTK tool and returns the child, for tests that act while it runs. */
export function startTool(tool: string, args: readonly string[]) {
  return spawn(tool, args, { env: dcmtkEnv, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TestCertificates {
  caCert: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
}

/** Runs openssl; throws with its output when it fails. */
function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A throwaway CA (`ca.crt`, `ca.key` in `dir`). */
export function makeCa(dir: string, name = 'ca', subject = '/CN=Test CA'): { cert: string; key: string } {
  const f = (n: string): string => path.join(dir, n);
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-days', '2', '-subj', subject);
  return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
}

/**
 * A key and a certificate signed by `ca`, with the given extensions (openssl extension lines).
 * `days: 0` makes one that expires at once (valid for no time at all).
 */
export function issueCertificate(dir: string, ca: { cert: string; key: string }, name: string, subject: string, extensions: string, days = 2): { cert: string; key: string } {
  const f = (n: string): string => path.join(dir, n);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
  writeFileSync(f(`${name}.ext`), extensions);
  openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', f(`${name}.crt`), '-days', String(days), '-extfile', f(`${name}.ext`));
  return { cert: f(`${name}.crt`), key: f(`${name}.key`) };
}

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate. */
export function makeCertificates(dir: string): TestCertificates {
  const ca = makeCa(dir);
  const server = issueCertificate(dir, ca, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const client = issueCertificate(dir, ca, 'client', '/CN=MODALITY1', 'extendedKeyUsage=clientAuth\n');
  return { caCert: ca.cert, serverKey: server.key, serverCert: server.cert, clientKey: client.key, clientCert: client.cert };
}

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
