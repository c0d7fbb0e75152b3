import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import tls from 'node:tls';
import dimse from 'dcmjs-dimse';
import type { Clock } from '../clock.ts';
import type { Device } from '../domain/device.ts';
import { ErrorCode, GatewayError } from '../domain/errors.ts';
import type { ComponentHealth } from '../health.ts';
import type { Logger } from '../log.ts';
import type { AssociationRecord, AssociationSink } from './association-log.ts';
import { DicomConnection, type Admission, type AdmissionRequest } from './connection.ts';
import { defaultMaxAssociateRqLength } from './pdu-guard.ts';
import { decideAssociation } from './policy.ts';
import { ServiceRegistry, type DimseService } from './services.ts';

export interface ListenerConfig {
  aeTitle: string;
  aliases: readonly string[];
  host: string;
  port: number;
  strictDevices: boolean;
  maxAssociations: number;
  maxAssociationsPerDevice: number;
  maxPduLength: number;
  timeouts: { artimSeconds: number; idleSeconds: number; associationSeconds: number };
  tls: { enabled: boolean; cert?: string | undefined; key?: string | undefined; ca?: string | undefined; requireClientCert: boolean };
  transferSyntaxPreference: readonly string[];
  /** Announced in A-ASSOCIATE-AC (at most 16 characters). */
  implementationVersionName?: string;
}

/** The device registry as the listener sees it. */
export interface DeviceLookup {
  find(aeTitle: string): Device | undefined;
}

export interface DicomListenerDeps {
  config: ListenerConfig;
  devices: DeviceLookup;
  services: readonly DimseService[];
  sink: AssociationSink;
  clock: Clock;
  log: Logger;
}

let libraryConfigured = false;

/**
 * Our own `net`/`tls` server in front of dcmjs-dimse: bound to the configured host, `noDelay`
 * sockets, association limits, a PDU guard, timeouts, and a graceful stop.
 */
export class DicomListener {
  readonly #deps: DicomListenerDeps;
  readonly #services: ServiceRegistry;
  readonly #log: Logger;
  #server: net.Server | undefined;
  #port = 0;
  #connections = new Set<DicomConnection>();
  #associated = new Set<DicomConnection>();
  #pendingRecords = new Set<Promise<void>>();
  #stopping = false;
  #totals = { connections: 0, accepted: 0, rejected: 0, dropped: 0 };

  constructor(deps: DicomListenerDeps) {
    this.#deps = deps;
    this.#services = new ServiceRegistry(deps.services);
    this.#log = deps.log;
  }

  get port(): number {
    return this.#port;
  }

  get activeAssociations(): number {
    return this.#associated.size;
  }

  get openConnections(): number {
    return this.#connections.size;
  }

  async start(): Promise<number> {
    const { config } = this.#deps;
    if (!libraryConfigured) {
      // The library logs every PDU (with AE titles) to the console by default: we log ourselves.
      dimse.log.setLevel('silent');
      libraryConfigured = true;
    }
    dimse.Implementation.setMaxPduLength(config.maxPduLength);
    if (config.implementationVersionName !== undefined) dimse.Implementation.setImplementationVersion(config.implementationVersionName.slice(0, 16));

    const onSocket = (socket: net.Socket, secure: boolean): void => this.#onSocket(socket, secure);
    let server: net.Server;
    if (config.tls.enabled) {
      const read = (field: 'cert' | 'key' | 'ca'): Buffer | undefined => {
        const file = config.tls[field];
        if (file === undefined) return undefined;
        try {
          return readFileSync(file);
        } catch (err) {
          throw new GatewayError(ErrorCode.Invalid, `dicom.tls.${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
        }
      };
      server = tls.createServer(
        {
          cert: read('cert'),
          key: read('key'),
          ca: read('ca'),
          requestCert: config.tls.requireClientCert || config.tls.ca !== undefined,
          rejectUnauthorized: config.tls.requireClientCert,
          minVersion: 'TLSv1.2',
          handshakeTimeout: config.timeouts.artimSeconds * 1000,
        },
        (socket) => onSocket(socket, true),
      );
      server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
        this.#totals.dropped++;
        this.#log.warn({ peer: socket.remoteAddress, code: err.code, detail: err.message }, 'TLS handshake failed: connection dropped');
      });
    } else {
      server = net.createServer((socket) => onSocket(socket, false));
    }
    // Room above the association limit, so that surplus peers get a polite A-ASSOCIATE-RJ.
    server.maxConnections = config.maxAssociations + Math.ceil(config.maxAssociations / 5) + 4;
    server.on('error', (err) => this.#log.error({ err }, 'DICOM listener error'));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen({ host: config.host, port: config.port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as net.AddressInfo).port;
    this.#log.info(
      { host: config.host, port: this.#port, tls: config.tls.enabled, aeTitle: config.aeTitle, aliases: config.aliases, strictDevices: config.strictDevices, services: this.#services.services.map((s) => s.name) },
      'DICOM listener started',
    );
    return this.#port;
  }

  #onSocket(socket: net.Socket, secure: boolean): void {
    const { config, clock } = this.#deps;
    this.#totals.connections++;
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    const connection = new DicomConnection({
      id: randomUUID(),
      socket,
      tls: secure,
      clock,
      log: this.#log,
      limits: { maxDataPduLength: config.maxPduLength, maxAssociateRqLength: defaultMaxAssociateRqLength },
      timeouts: { artimMs: config.timeouts.artimSeconds * 1000, idleMs: config.timeouts.idleSeconds * 1000, associationMs: config.timeouts.associationSeconds * 1000 },
      services: this.#services,
      transferSyntaxPreference: config.transferSyntaxPreference,
      admit: (request) => this.#admit(request),
      onAccepted: (c) => {
        this.#associated.add(c);
        this.#totals.accepted++;
      },
      onEnded: (c, record) => this.#ended(c, record),
    });
    this.#connections.add(connection);
  }

  async #admit(request: AdmissionRequest): Promise<Admission> {
    const { config, devices } = this.#deps;
    const device = devices.find(request.callingAeTitle);
    let deviceAddresses: string[] | undefined;
    if (device?.host !== undefined) {
      if (net.isIP(device.host) !== 0) deviceAddresses = [device.host];
      else {
        try {
          deviceAddresses = (await lookup(device.host, { all: true })).map((a) => a.address);
        } catch (err) {
          this.#log.warn({ callingAeTitle: request.callingAeTitle, host: device.host, code: (err as NodeJS.ErrnoException).code }, 'cannot resolve the device host: its address is not checked');
        }
      }
    }
    let activeForCallingAe = 0;
    for (const c of this.#associated) if (c.callingAeTitle === request.callingAeTitle) activeForCallingAe++;
    const decision = decideAssociation(config, {
      ...request,
      device,
      deviceAddresses,
      activeAssociations: this.#associated.size,
      activeForCallingAe,
      shuttingDown: this.#stopping,
    });
    if (decision.kind === 'reject') this.#totals.rejected++;
    return { ...decision, device };
  }

  #ended(connection: DicomConnection, record: AssociationRecord): void {
    this.#connections.delete(connection);
    this.#associated.delete(connection);
    if (record.outcome === 'dropped') this.#totals.dropped++;
    const write = this.#deps.sink.record(record).catch((err: unknown) => this.#log.error({ err }, 'could not record the association'));
    this.#pendingRecords.add(write);
    void write.finally(() => this.#pendingRecords.delete(write));
  }

  health(): ComponentHealth {
    const listening = this.#server?.listening === true;
    const details = {
      port: this.#port,
      tls: this.#deps.config.tls.enabled,
      activeAssociations: this.#associated.size,
      maxAssociations: this.#deps.config.maxAssociations,
      ...this.#totals,
    };
    if (!listening && !this.#stopping) return { ok: false, reason: 'the DICOM listener is not listening', details };
    return this.#associated.size >= this.#deps.config.maxAssociations
      ? { ok: true, details, warning: 'the association limit is reached: new peers are rejected' }
      : { ok: true, details };
  }

  /**
   * Stops accepting, closes connections that have not asked for an association, lets open
   * associations finish until the deadline (epoch ms), then aborts them; waits for their records.
   */
  async stop(deadline: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const server = this.#server;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of this.#connections) c.dropIfIdle('shutdown');
    const open = [...this.#connections];
    if (open.length > 0) {
      this.#log.info({ open: open.length }, 'waiting for open associations to finish');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(open.map((c) => c.closed)).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const c of this.#connections) c.abort('shutdown');
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(open.map((c) => c.closed)), new Promise((resolve) => (grace = setTimeout(resolve, 2000)))]);
        clearTimeout(grace);
      }
    }
    await closed;
    await Promise.allSettled([...this.#pendingRecords]);
    this.#log.info('DICOM listener stopped');
  }
}
