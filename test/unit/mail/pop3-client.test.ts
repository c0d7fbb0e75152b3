import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { describe, test } from 'node:test';
import { Pop3Client, Pop3Error } from '../../../src/mail/pop3-client.ts';
import { makeCertificates } from '../../support/dcmtk.ts';
import { tempDir } from '../../support/temp.ts';

// A scripted POP3S server: enough to check the client's framing (dot-stuffing, the end line, lines
// split across TCP writes) and its errors. The real Dovecot runs in the mail relay's integration tests.
const certs = makeCertificates(tempDir('gw-pop3-certs-'));
const message = ['From: <a@example.test>', 'Subject: x', '', '.leading dot', '..two dots', '.', 'end'].join('\r\n') + '\r\n';
const stuffed = message.replace(/^\./gm, '..');

async function server(options: { password?: string } = {}): Promise<{ port: number; close(): void }> {
  const srv = tls.createServer({ key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert), ca: readFileSync(certs.caCert), requestCert: true, rejectUnauthorized: true }, (socket) => {
    socket.write('+OK ready\r\n');
    let buf = '';
    socket.on('data', async (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\r\n'); i !== -1; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const [cmd] = line.split(' ');
        if (cmd === 'USER') socket.write('+OK\r\n');
        else if (cmd === 'PASS') socket.write(line === `PASS ${options.password ?? 'secret'}` ? '+OK logged in\r\n' : '-ERR [AUTH] Authentication failed.\r\n');
        else if (cmd === 'UIDL') socket.write('+OK\r\n1 abc\r\n.\r\n');
        else if (cmd === 'LIST') socket.write(`+OK\r\n1 ${message.length}\r\n.\r\n`);
        else if (cmd === 'RETR') {
          // Byte by byte for the first part: CR and LF and the dots arrive in separate packets.
          const body = `+OK\r\n${stuffed}.\r\n`;
          for (const ch of body.slice(0, 40)) {
            socket.write(ch);
            await new Promise((r) => setImmediate(r));
          }
          socket.write(body.slice(40));
        } else if (cmd === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('-ERR unknown\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

const client = (port: number, password = 'secret') =>
  Pop3Client.connect({ host: '127.0.0.1', port, user: 'u', password, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), ca: readFileSync(certs.caCert) });

describe('POP3 client', () => {
  test('UIDL, LIST and RETR with dot-stuffing undone, whatever the packet boundaries', async () => {
    const s = await server();
    const c = await client(s.port);
    assert.deepEqual(await c.uidl(), [{ number: 1, uid: 'abc' }]);
    assert.deepEqual([...(await c.list())], [[1, message.length]]);
    const parts: Buffer[] = [];
    const size = await c.retrieve(1, async (chunk) => void parts.push(chunk), 1_000_000);
    assert.equal(Buffer.concat(parts).toString(), message);
    assert.equal(size, message.length);
    await c.quit();
    s.close();
  });

  test('a mail over the limit stops the download; a refused login names the command, never the password', async () => {
    const s = await server();
    const c = await client(s.port);
    await assert.rejects(c.retrieve(1, async () => undefined, 10), Pop3Error);
    c.close();
    await assert.rejects(client(s.port, 'wrong-password'), (err: Error) => err instanceof Pop3Error && /PASS/.test(err.message) && !err.message.includes('wrong-password'));
    s.close();
  });
});
