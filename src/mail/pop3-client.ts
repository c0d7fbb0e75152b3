import type { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export class Pop3Error extends Error {
  override name = 'Pop3Error';
}

export interface Pop3Options {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Our client certificate and key; the CA that must have signed the server's certificate. */
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  timeoutMs?: number;
}

const maxLine = 64 * 1024;

/**
 * A POP3 client (RFC 1939, UIDL from RFC 2449) over implicit TLS (POP3S, RFC 8314) with our client
 * certificate: the few commands the relay needs. RETR streams the mail through a callback with the
 * socket's back-pressure, so a large mail never sits in memory whole.
 */
export class Pop3Client {
  readonly #socket: tls.TLSSocket;
  readonly #chunks: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);

  private constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    this.#chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  static async connect(options: Pop3Options): Promise<Pop3Client> {
    const socket = tls.connect({
      host: options.host,
      port: options.port,
      // SNI takes host names only (RFC 6066); the certificate is checked against an IP address all the same.
      ...(net.isIP(options.host) === 0 ? { servername: options.host } : {}),
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    socket.setTimeout(options.timeoutMs ?? 60_000, () => socket.destroy(new Pop3Error('the POP3 server stopped answering')));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const client = new Pop3Client(socket);
    try {
      await client.#expectOk('greeting');
      await client.command(`USER ${options.user}`);
      await client.command(`PASS ${options.password}`, 'PASS');
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  async #more(): Promise<void> {
    const next = await this.#chunks.next();
    if (next.done === true) throw new Pop3Error('the POP3 server closed the connection');
    this.#buf = this.#buf.length === 0 ? next.value : Buffer.concat([this.#buf, next.value]);
  }

  async #line(): Promise<string> {
    for (;;) {
      const end = this.#buf.indexOf('\r\n');
      if (end !== -1) {
        const line = this.#buf.subarray(0, end).toString('latin1');
        this.#buf = this.#buf.subarray(end + 2);
        return line;
      }
      if (this.#buf.length > maxLine) throw new Pop3Error('POP3 line too long');
      await this.#more();
    }
  }

  async #expectOk(what: string): Promise<string> {
    const line = await this.#line();
    if (!line.startsWith('+OK')) throw new Pop3Error(`${what}: ${line.slice(0, 300)}`);
    return line;
  }

  /** A command with a one-line answer; `shown` replaces it in errors (never the password). */
  async command(command: string, shown = command.split(' ')[0] ?? command): Promise<string> {
    this.#socket.write(`${command}\r\n`);
    return this.#expectOk(shown);
  }

  async #multiline(command: string): Promise<string[]> {
    await this.command(command);
    const lines: string[] = [];
    for (;;) {
      const line = await this.#line();
      if (line === '.') return lines;
      lines.push(line.startsWith('..') ? line.slice(1) : line);
      if (lines.length > 1_000_000) throw new Pop3Error('POP3 listing too long');
    }
  }

  /** Message numbers with their unique ids. */
  async uidl(): Promise<{ number: number; uid: string }[]> {
    return (await this.#multiline('UIDL')).map((l) => {
      const [n = '', uid = ''] = l.split(' ');
      return { number: Number(n), uid };
    });
  }

  /** Message numbers with their sizes in octets. */
  async list(): Promise<Map<number, number>> {
    return new Map((await this.#multiline('LIST')).map((l) => l.split(' ').map(Number) as [number, number]));
  }

  /**
   * Retrieves a message, un-dot-stuffed, through `write` (awaited: the socket waits for it). Stops with
   * an error once more than `maxBytes` arrive.
   */
  async retrieve(number: number, write: (chunk: Buffer) => Promise<void>, maxBytes: number): Promise<number> {
    await this.command(`RETR ${number}`);
    let total = 0;
    for (;;) {
      const buf = this.#buf;
      const out: Buffer[] = [];
      let p = 0;
      let done = false;
      for (let end = buf.indexOf('\r\n', p); end !== -1; end = buf.indexOf('\r\n', p)) {
        if (buf[p] === 0x2e) {
          if (end === p + 1) {
            done = true;
            p = end + 2;
            break;
          }
          out.push(buf.subarray(p + 1, end + 2)); // dot-stuffed line
        } else out.push(buf.subarray(p, end + 2));
        p = end + 2;
      }
      this.#buf = buf.subarray(p);
      const data = Buffer.concat(out);
      total += data.length;
      if (total > maxBytes) throw new Pop3Error(`the mail is larger than ${maxBytes} bytes`);
      if (data.length > 0) await write(data);
      if (done) return total;
      if (this.#buf.length > maxLine) throw new Pop3Error('POP3 line too long');
      await this.#more();
    }
  }

  /** The server's certificate, for the expiry report. */
  get serverCertificate(): X509Certificate | undefined {
    return this.#socket.getPeerX509Certificate();
  }

  async delete(number: number): Promise<void> {
    await this.command(`DELE ${number}`);
  }

  /** Ends the session; deletions take effect only now (RFC 1939 UPDATE state). */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } finally {
      this.close();
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
