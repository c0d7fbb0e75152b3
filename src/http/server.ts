import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** The HTTP listener: started after the parts it serves, stopped before them. */
export class HttpServer {
  readonly #app: Express;
  #server: http.Server | undefined;

  constructor(app: Express) {
    this.#app = app;
  }

  async listen(host: string, port: number): Promise<number> {
    const server = http.createServer(this.#app);
    server.headersTimeout = 30_000;
    server.requestTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Stops accepting, lets requests in flight finish, then drops idle keep-alive sockets. */
  async close(timeoutMs: number): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    await closed;
    clearTimeout(timer);
  }
}
