import net from 'node:net';

/** Hand-made upper layer PDUs, for tests that must send what no well-behaved peer sends. */

function item(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function ae(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'ascii');
}

export function pdu(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head[0] = type;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

/** A-ASSOCIATE-RQ proposing Verification with implicit little endian. */
export function associateRq(called: string, calling: string): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  ae(called).copy(fixed, 4);
  ae(calling).copy(fixed, 20);
  const appContext = item(0x10, Buffer.from('1.2.840.10008.3.1.1.1'));
  const pc = item(0x20, Buffer.concat([Buffer.from([1, 0, 0, 0]), item(0x30, Buffer.from('1.2.840.10008.1.1')), item(0x40, Buffer.from('1.2.840.10008.1.2'))]));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const userInfo = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4'))]));
  return pdu(0x01, Buffer.concat([fixed, appContext, pc, userInfo]));
}

export const releaseRq = (): Buffer => pdu(0x05, Buffer.alloc(4));

/** A raw client that collects what the server sends and notes when the server closes. */
export class RawPeer {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve) => this.socket.write(data, () => resolve()));
  }

  /** Resolves once at least `bytes` have arrived (or the socket closed). */
  async waitFor(bytes: number): Promise<Buffer> {
    while (this.received.length < bytes && !this.socket.destroyed) {
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), this.closed]);
    }
    return this.received;
  }

  /** The PDU types received so far, in order. */
  pduTypes(): number[] {
    const types: number[] = [];
    let at = 0;
    while (at + 6 <= this.received.length) {
      types.push(this.received[at] as number);
      at += 6 + this.received.readUInt32BE(at + 2);
    }
    return types;
  }
}
