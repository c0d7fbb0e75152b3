import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type DestinationStream, type Logger as PinoLogger, type StreamEntry } from 'pino';

export type Logger = PinoLogger;

/**
 * Attributes that identify a patient. Whatever object a log call passes, these keys are censored
 * at the top level and one level down (pino's redaction does not recurse further, so log calls
 * pass flat objects). DICOM keywords and our own camelCase names both.
 */
const patientKeys = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'PatientAddress',
  'OtherPatientIDs',
  'OtherPatientNames',
  'PatientMotherBirthName',
  'PatientTelephoneNumbers',
  'patientName',
  'patientId',
  'birthDate',
  'patient',
  'surname',
  'givenName',
  'firstName',
  'lastName',
];

const secretKeys = ['authorization', 'apiToken', 'password', 'token', 'cookie'];

export const redactPaths = [
  ...[...patientKeys, ...secretKeys].flatMap((k) => [k, `*.${k}`]),
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  level: string;
  /** The `logs/` directory; none: stdout only. */
  dir?: string;
  maxFileMb?: number;
  keepDays?: number;
  /** Where the console copy goes; tests pass a stream to read what was logged. */
  stdout?: DestinationStream;
  pretty?: boolean;
}

export interface RootLogger {
  log: Logger;
  /** Flushes and closes the file stream. */
  close(): Promise<void>;
}

export async function createLogger(options: LoggerOptions): Promise<RootLogger> {
  const streams: StreamEntry[] = [];
  const console = options.stdout ?? process.stdout;
  if (options.pretty === true) {
    const { default: pretty } = await import('pino-pretty');
    streams.push({ level: options.level as pino.Level, stream: pretty({ destination: 1, sync: true, colorize: true }) });
  } else {
    streams.push({ level: options.level as pino.Level, stream: console });
  }
  let file: Awaited<ReturnType<typeof import('pino-roll').default>> | undefined;
  if (options.dir !== undefined) {
    mkdirSync(options.dir, { recursive: true });
    const { default: roll } = await import('pino-roll');
    file = await roll({
      file: path.join(options.dir, 'gateway'),
      extension: '.log',
      size: `${options.maxFileMb ?? 20}m`,
      frequency: 'daily',
      limit: { count: options.keepDays ?? 30 },
      mkdir: true,
      symlink: true,
    });
    streams.push({ level: options.level as pino.Level, stream: file });
  }
  const log = pino(
    {
      level: options.level,
      base: { service: 'dicom-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    pino.multistream(streams),
  );
  return {
    log,
    close: () =>
      new Promise<void>((resolve) => {
        log.flush();
        if (file === undefined) return resolve();
        file.once('close', () => resolve());
        file.once('finish', () => resolve());
        file.end();
        setTimeout(resolve, 1000).unref();
      }),
  };
}

/** A logger that drops everything, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
