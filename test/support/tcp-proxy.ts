import net from 'node:net';
import { after } from 'node:test';

/**
 * A TCP proxy on loopback in front of a real server, that can cut a connection at a chosen point
 * (a fault a test wants: a download that breaks off, a session lost before its last command).
 * Passes bytes through untouched otherwise (TLS runs end to end through it).
 */
export class TcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cutAfterServerBytes: number | undefined;
  #trap: { serverBytes: number; fn: () => void } | undefined;
  /** Connections cut so far. */
  cuts = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<TcpProxy & { port: number }> {
    const server = net.createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    after(() => proxy.stop());
    return Object.assign(proxy, { port });
  }

  /** The next connection is cut once the server has sent this many bytes through it. */
  cutAfterServerBytes(n: number): void {
    this.#cutAfterServerBytes = n;
  }

  /**
   * On the next connection, once the server has sent at least `serverBytes`, the client's next data
   * is not passed on: `fn` runs (a test kills the client's process there) and the connection is cut.
   * With POP3 that is the command after a downloaded mail: DELE.
   */
  onClientDataAfterServerBytes(serverBytes: number, fn: () => void): void {
    this.#trap = { serverBytes, fn };
  }

  #pipe(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    const serverLimit = this.#cutAfterServerBytes;
    const trap = this.#trap;
    this.#cutAfterServerBytes = undefined;
    this.#trap = undefined;
    let fromServer = 0;
    const cut = (): void => {
      this.cuts++;
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (serverLimit !== undefined && fromServer + chunk.length >= serverLimit) {
        client.write(chunk.subarray(0, Math.max(0, serverLimit - fromServer)), cut);
        fromServer = serverLimit;
        upstream.pause();
        return;
      }
      fromServer += chunk.length;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (trap !== undefined && fromServer >= trap.serverBytes) {
        trap.fn();
        cut();
        return;
      }
      upstream.write(chunk);
    });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
