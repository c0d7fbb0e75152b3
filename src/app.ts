import path from 'node:path';
import dimse from 'dcmjs-dimse';
import { Router } from 'express';
import type { DestinationStream } from 'pino';
import { ArchiveStore, DiskGuard, importPart10File, ImportFolder, StorageCommitments, StudyStability, storageSopClasses, storageTransferSyntaxes } from './archive/index.ts';
import { systemClock, type Clock } from './clock.ts';
import { defaultSecretKeyFile, loadSecretKey, type GatewayConfig } from './config/index.ts';
import { dataLayout, prepareDataDir, type DataLayout } from './data-dir.ts';
import { ArchiveRepository, AssociationRepository, Database, DerivedFileRepository, DeviceRepository, MppsRepository, PatientRepository, RecordRepository, StorageCommitmentRepository, WorklistRepository } from './db/index.ts';
import { connectedClients, DeviceRegistry } from './devices/index.ts';
import { DicomListener, mppsService, storageCommitmentService, storageService, verificationService, worklistFindService, type DimseService } from './dimse/index.ts';
import { HealthRegistry } from './health.ts';
import { associationsRouter, createHttpApp, HttpServer, instancesRouter, jobsRouter, studiesRouter } from './http/index.ts';
import { folderRouter } from './http/folder-router.ts';
import { mailRouter, sendBodyLimit, studySendRouter } from './http/mail-router.ts';
import { MailRelay } from './mail/index.ts';
import { patientsRouter } from './http/patients-router.ts';
import { recordsRouter } from './http/records-router.ts';
import { assignmentSettings, PatientAssigner, RecordsService } from './records/index.ts';
import { storageCommitmentsRouter } from './http/storage-commitments-router.ts';
import { jobCatalog, type JobCatalog } from './job-catalog.ts';
import { BullmqJobQueue, SqliteJobQueue, type JobQueue } from './jobs/index.ts';
import { worklistRouter } from './http/worklist-router.ts';
import { createLogger, type Logger, type RootLogger } from './log.ts';
import { Renderer } from './rendering/index.ts';
import { version } from './version.ts';
import { MppsService, studyOrderLinker, WorklistFolder, WorklistQuery, WorklistService } from './worklist/index.ts';

export interface GatewayOptions {
  config: GatewayConfig;
  clock?: Clock;
  /** The console copy of the log; tests pass a stream. */
  stdout?: DestinationStream;
  pretty?: boolean;
  /** DICOM services beyond the built-in ones; a service given here replaces the built-in one for its SOP classes (tests pass stand-ins). */
  dimseServices?: readonly DimseService[];
  /** Further job types and schedules (tests), added to the gateway's own catalog; a type given here replaces the built-in one. */
  jobs?: Partial<JobCatalog>;
}

export interface ListeningPorts {
  http: number;
  dicom: number;
}

/** The given services, and the built-in ones for the SOP classes they do not take over (tests put stand-ins in). */
function withOverrides(given: readonly DimseService[], builtIn: readonly DimseService[]): DimseService[] {
  const taken = new Set(given.flatMap((s) => s.sopClasses));
  return [...builtIn.filter((s) => !s.sopClasses.some((uid) => taken.has(uid))), ...given];
}

interface Stoppable {
  name: string;
  stop(deadline: number): Promise<void>;
}

/**
 * Builds every part from the config, starts them in dependency order and stops them in reverse.
 * The only place that wires real things together.
 */
export class Gateway {
  readonly config: GatewayConfig;
  readonly clock: Clock;
  readonly layout: DataLayout;
  readonly health = new HealthRegistry();
  #root: RootLogger | undefined;
  #db: Database | undefined;
  #devices: DeviceRegistry | undefined;
  #worklist: WorklistService | undefined;
  #jobs: JobQueue | undefined;
  #records: RecordsService | undefined;
  #mail: MailRelay | undefined;
  #stoppables: Stoppable[] = [];
  #stopping: Promise<void> | undefined;
  readonly #options: GatewayOptions;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.layout = dataLayout(options.config.dataDir);
  }

  get log(): Logger {
    if (this.#root === undefined) throw new Error('gateway not started');
    return this.#root.log;
  }

  get db(): Database {
    if (this.#db === undefined) throw new Error('gateway not started');
    return this.#db;
  }

  get devices(): DeviceRegistry {
    if (this.#devices === undefined) throw new Error('gateway not started');
    return this.#devices;
  }

  get worklist(): WorklistService {
    if (this.#worklist === undefined) throw new Error('gateway not started');
    return this.#worklist;
  }

  get jobs(): JobQueue {
    if (this.#jobs === undefined) throw new Error('gateway not started');
    return this.#jobs;
  }

  /** Patient records; `records.fileRendered` is the hook rendering calls in its transaction. */
  get records(): RecordsService {
    if (this.#records === undefined) throw new Error('gateway not started');
    return this.#records;
  }

  /** The e-mail relay; undefined until the gateway has started. */
  get mail(): MailRelay | undefined {
    return this.#mail;
  }

  async start(): Promise<ListeningPorts> {
    const { config } = this;
    prepareDataDir(this.layout);
    this.#root = await createLogger({
      level: config.logging.level,
      dir: this.layout.logs,
      maxFileMb: config.logging.maxFileMb,
      keepDays: config.logging.keepDays,
      ...(this.#options.stdout === undefined ? {} : { stdout: this.#options.stdout }),
      pretty: this.#options.pretty ?? false,
    });
    const log = this.#root.log;
    try {
      const db = Database.open({ file: this.layout.database });
      this.#db = db;
      this.#stoppables.push({ name: 'database', stop: async () => db.close() });
      this.health.register('database', () => (db.isOpen ? { ok: true } : { ok: false, reason: 'closed' }));

      // The queue's ledger lives in the database; job types register now, workers start further down.
      const queueDeps = {
        db,
        clock: this.clock,
        log: log.child({ component: 'jobs' }),
        timezone: config.gateway.timezone,
        concurrency: config.queue.concurrency,
        keepCompletedDays: config.queue.keepCompletedDays,
        keepFailedDays: config.queue.keepFailedDays,
      };
      const jobs: JobQueue =
        config.queue.driver === 'redis' && config.queue.redisUrl !== undefined
          ? new BullmqJobQueue({ ...queueDeps, redisUrl: config.queue.redisUrl, prefix: config.queue.prefix, runWorkers: config.queue.runWorkers })
          : new SqliteJobQueue(queueDeps);
      this.#jobs = jobs;
      // Rendering: the pool stops after the workers that feed it (stoppables run in reverse).
      const renderer = new Renderer({ config: config.rendering, layout: this.layout, log: log.child({ component: 'rendering' }) });
      await renderer.start();
      this.#stoppables.push({ name: 'rendering', stop: () => renderer.close() });
      this.health.register('rendering', () => renderer.health());
      const derivedFiles = new DerivedFileRepository(db);
      const recordRepository = new RecordRepository(db);
      const records = new RecordsService({
        db,
        repository: recordRepository,
        assigner: new PatientAssigner({ repository: recordRepository, settings: assignmentSettings(config.records.assignment) }),
        jobs,
        config: config.records,
        dirs: { root: this.layout.root, archive: this.layout.archive },
        clock: this.clock,
        timeZone: config.gateway.timezone,
        log: log.child({ component: 'records' }),
      });
      this.#records = records;
      const archiveRepository = new ArchiveRepository(db);
      // The relay's job types must register before the queue starts; it imports through the archive store built below.
      let archiveStore: ArchiveStore | undefined;
      const implementation = { classUid: dimse.Implementation.getImplementationClassUid(), versionName: `DCMGW_${version}` };
      // Built without any mailbox too: mailboxes can be made through the API.
      let secretKey: Buffer | undefined;
      const secretKeyFile = config.secretKeyFile ?? defaultSecretKeyFile(config.dataDir);
      const mail = new MailRelay({
        config: config.mail,
        db,
        archive: archiveRepository,
        jobs,
        dirs: { archive: this.layout.archive, mail: this.layout.mail },
        importFile: (file, source) => {
          if (archiveStore === undefined) throw new Error('the archive is not ready');
          return importPart10File(archiveStore, file, source);
        },
        implementation,
        // Read (made when missing) only once a mailbox is stored through the API.
        secretKey: () => (secretKey ??= loadSecretKey(secretKeyFile, true)),
        clock: this.clock,
        log: log.child({ component: 'mail' }),
      });
      this.#mail = mail;
      // Rendered files go to the patient record in the transaction that records them.
      const catalog = jobCatalog({
        config,
        log,
        clock: this.clock,
        renderer,
        rendered: { repository: derivedFiles, onRendered: (tx, rendered) => void records.fileRendered(tx, rendered) },
        afterStudyStable: (tx, uid) => mail.routeStable(tx, uid),
      });
      const given = this.#options.jobs?.definitions ?? [];
      const definitions = [...catalog.definitions, ...mail.jobDefinitions()];
      for (const definition of [...definitions.filter((d) => !given.some((g) => g.type === d.type)), ...given]) jobs.register(definition);

      const devices = new DeviceRegistry({ repository: new DeviceRepository(db), clock: this.clock, log: log.child({ component: 'devices' }) });
      devices.syncFromConfig(config.devices);
      this.#devices = devices;
      this.health.register('devices', () => {
        const count = devices.list().length;
        return config.dicom.strictDevices
          ? { ok: true, details: { strict: true, count } }
          : { ok: true, details: { strict: false, count }, warning: 'the device registry is open: any calling AE title is accepted; set dicom.strictDevices: true once devices are registered' };
      });

      const worklistRepository = new WorklistRepository(db);
      const worklist = new WorklistService({
        db,
        repository: worklistRepository,
        devices,
        clock: this.clock,
        log: log.child({ component: 'worklist' }),
        timeZone: config.gateway.timezone,
        uidRoot: config.gateway.uidRoot,
        cleanup: config.worklist.cleanup,
      });
      this.#worklist = worklist;
      let folder: WorklistFolder | undefined;
      if (config.worklist.folder !== undefined) {
        const started = new WorklistFolder({
          folder: path.resolve(config.worklist.folder),
          aeTitles: [config.gateway.aeTitle, ...config.gateway.aliases],
          pollMs: config.worklist.pollSeconds * 1000,
          worklist,
          repository: worklistRepository,
          clock: this.clock,
          log: log.child({ component: 'worklist-folder' }),
        });
        folder = started;
        started.start();
        this.#stoppables.push({ name: 'worklist-folder', stop: () => started.stop() });
        this.health.register('worklist-folder', () => {
          const report = started.report();
          return report.errors.length === 0
            ? { ok: true, details: { files: report.files, lastScan: report.lastScan } }
            : { ok: true, details: { files: report.files, lastScan: report.lastScan, errors: report.errors.length }, warning: `${report.errors.length} worklist file(s) could not be imported; see GET /api/v1/worklist-folder` };
        });
      }

      // Workers start once every type is registered; they stop before the database closes.
      await jobs.start();
      this.#stoppables.push({ name: 'jobs', stop: (deadline) => jobs.stop(deadline) });
      for (const schedule of [...catalog.schedules, ...(this.#options.jobs?.schedules ?? [])]) jobs.schedule(schedule);
      this.health.register('jobs', () => jobs.health());

      const diskGuard = new DiskGuard({ dir: this.layout.archive, minFreeMb: config.archive.minFreeMb });
      await diskGuard.check();
      this.health.register('archive', () => diskGuard.health());
      const archive = new ArchiveStore({
        db,
        repository: archiveRepository,
        jobs,
        dirs: { archive: this.layout.archive, incoming: this.layout.incoming },
        diskGuard,
        clock: this.clock,
        log: log.child({ component: 'archive' }),
        duplicates: config.archive.duplicates,
        implementation,
        onIndexed: studyOrderLinker({ worklist: worklistRepository, archive: archiveRepository, stepFollowsImages: config.worklist.stepFollowsImages }),
      });
      await archive.removeLeftovers();
      archiveStore = archive;
      await mail.start();
      this.#stoppables.push({ name: 'mail', stop: () => mail.stop() });
      this.health.register('mail', () => mail.health());
      if (mail.mailboxes.size > 0 && config.queue.driver === 'redis' && !config.queue.runWorkers) {
        log.warn('the e-mail relay sends from the gateway process, but queue.runWorkers is false: mails will wait; set it true');
      }
      const stability = new StudyStability({
        db,
        repository: archiveRepository,
        jobs,
        clock: this.clock,
        log: log.child({ component: 'studies' }),
        quietMs: config.archive.studyQuietSeconds * 1000,
      });
      stability.start();
      this.#stoppables.push({ name: 'study-stability', stop: () => stability.stop() });
      let importFolder: ImportFolder | undefined;
      if (config.archive.importFolder.path !== undefined) {
        const started = new ImportFolder({
          folder: path.resolve(config.archive.importFolder.path),
          archive,
          pollMs: config.archive.importFolder.pollSeconds * 1000,
          settleMs: config.archive.importFolder.settleSeconds * 1000,
          afterImport: config.archive.importFolder.afterImport,
          clock: this.clock,
          log: log.child({ component: 'import-folder' }),
        });
        await started.start();
        importFolder = started;
        this.#stoppables.push({ name: 'import-folder', stop: () => started.stop() });
      }
      const commitmentRepository = new StorageCommitmentRepository(db);
      const commitments = new StorageCommitments({
        db,
        repository: commitmentRepository,
        archive: archiveRepository,
        jobs,
        devices,
        dirs: { root: this.layout.root, archive: this.layout.archive },
        aeTitle: config.gateway.aeTitle,
        clock: this.clock,
        log: log.child({ component: 'storage-commitment' }),
      });
      await commitments.recover();
      const allowed = config.archive.sopClasses.allow.length > 0 ? config.archive.sopClasses.allow : storageSopClasses;

      const associations = new AssociationRepository(db);
      const listener = new DicomListener({
        config: { ...config.dicom, aeTitle: config.gateway.aeTitle, aliases: config.gateway.aliases, implementationVersionName: `DCMGW_${version}` },
        devices,
        services: withOverrides(this.#options.dimseServices ?? [], [
          verificationService(),
          worklistFindService(
            new WorklistQuery({
              repository: worklistRepository,
              maxResults: config.worklist.maxResults,
              offerInProgress: config.worklist.offerInProgress,
              personNameMatching: config.worklist.personNameMatching,
            }),
          ),
          mppsService(new MppsService({ db, mpps: new MppsRepository(db), worklist: worklistRepository, clock: this.clock, log: log.child({ component: 'mpps' }) })),
          storageService({ sopClasses: allowed.filter((uid) => !config.archive.sopClasses.deny.includes(uid)), transferSyntaxes: storageTransferSyntaxes, archive }),
          storageCommitmentService(commitments),
        ]),
        sink: associations,
        clock: this.clock,
        log: log.child({ component: 'dimse' }),
      });
      const dicomPort = await listener.start();
      this.#stoppables.push({ name: 'dicom', stop: (deadline) => listener.stop(deadline) });
      this.health.register('dicom', () => listener.health());

      const httpServer = new HttpServer(
        createHttpApp({
          log: log.child({ component: 'http' }),
          health: this.health,
          devices,
          apiToken: config.http.apiToken,
          version,
          jsonLimits: { '/studies/:studyUid/send': sendBodyLimit },
          routers: {
            jobs: jobsRouter(jobs),
            'worklist-items': worklistRouter(worklist, config.gateway.timezone),
            'worklist-folder': folderRouter(folder, 'no worklist folder is configured (worklist.folder)'),
            studies: Router().use(studiesRouter(archiveRepository), studySendRouter(mail)),
            mail: mailRouter(mail),
            patients: patientsRouter(new PatientRepository(db)),
            records: recordsRouter(records),
            'storage-commitments': storageCommitmentsRouter(commitmentRepository),
            'import-folder': folderRouter(importFolder, 'no import folder is configured (archive.importFolder.path)'),
            instances: instancesRouter({ repository: archiveRepository, archiveDir: this.layout.archive, derived: { repository: derivedFiles, dataDir: this.layout.root } }),
            associations: associationsRouter({
              associations,
              connectedClients: () => connectedClients({ associations, registry: devices, clock: this.clock, timezone: config.gateway.timezone }),
            }),
          },
        }),
      );
      const httpPort = await httpServer.listen(config.http.host, config.http.port);
      this.#stoppables.push({ name: 'http', stop: (deadline) => httpServer.close(Math.max(0, deadline - Date.now())) });
      if (config.http.apiToken === undefined) log.warn('no API token configured: the API refuses every request (set GATEWAY_API_TOKEN)');
      log.info({ httpPort, dicomPort, dataDir: this.layout.root, version }, 'gateway started');
      return { http: httpPort, dicom: dicomPort };
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops in reverse order of start, within the configured shutdown timeout. Safe to call twice. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    const deadline = Date.now() + this.config.shutdown.timeoutSeconds * 1000;
    const log = this.#root?.log;
    for (const part of this.#stoppables.reverse()) {
      try {
        await part.stop(deadline);
      } catch (err) {
        log?.error({ err, part: part.name }, 'error while stopping');
      }
    }
    this.#stoppables = [];
    log?.info('gateway stopped');
    await this.#root?.close();
  }
}
