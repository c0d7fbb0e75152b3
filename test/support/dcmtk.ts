import { execFile, spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
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

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate. */
export function makeCertificates(dir: string): TestCertificates {
  const f = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=Test CA');
  for (const [name, cn, ext] of [
    ['server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'MODALITY1', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    execFileSync('sh', ['-c', `printf '${ext}' > ${f(`${name}.ext`)}`]);
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  }
  return { caCert: f('ca.crt'), serverKey: f('server.key'), serverCert: f('server.crt'), clientKey: f('client.key'), clientCert: f('client.crt') };
}
