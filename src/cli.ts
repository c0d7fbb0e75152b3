import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Gateway } from './app.ts';
import { ConfigError, defaultSecretKeyFile, loadConfigFromProcess, loadSecretKey, maskSecrets, sealSecret, type LoadedConfig } from './config/index.ts';
import { version } from './version.ts';
import { WorkerProcess } from './worker.ts';

const usage = `dicom-gateway ${version}: DICOM worklist and import gateway

Usage: dicom-gateway <command> [--config FILE]

Commands:
  start          run the gateway in the foreground until SIGINT or SIGTERM
  worker         run job workers only (queue.driver: redis), e.g. on another host that sees the
                 same data volume; --types render,video limits them to these job types
  check-config   validate the configuration and print it with secrets masked
                 (exit 0 if valid, 2 listing every problem)
  seal-secret    read a secret (a password) on standard input and print it sealed, enc:v1:...,
                 for the config file; makes the key file (secretKeyFile) if there is none
  version        print the version
  help           this text

Options:
  --config FILE  the YAML config file (default: $GATEWAY_CONFIG, else config/gateway.yaml if present,
                 else built-in defaults); GATEWAY_* variables override it
`;

/** Exit codes: 0 done, 1 failed while running, 2 bad usage or configuration. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2 } as const;

function reportConfigError(err: ConfigError): void {
  const lines = [`${err.message}: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'}`];
  for (const issue of err.issues) {
    lines.push(`  - ${issue.path}: ${issue.message}${issue.hint === undefined ? '' : `\n      hint: ${issue.hint}`}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

function load(file: string | undefined): LoadedConfig | undefined {
  try {
    return loadConfigFromProcess(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(err);
      return undefined;
    }
    throw err;
  }
}

function untilSignal(log: { info(obj: object, msg: string): void }): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second signal during shutdown forces the exit.
      const force = (): void => process.exit(ExitCode.Failed);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function worker(loaded: LoadedConfig, types: string[] | undefined): Promise<number> {
  const proc = new WorkerProcess({ config: loaded.config, pretty: process.stdout.isTTY, ...(types === undefined ? {} : { types }) });
  try {
    await proc.start();
  } catch (err) {
    process.stderr.write(`dicom-gateway worker could not start: ${(err as Error).message}\n`);
    await proc.stop().catch(() => undefined);
    return ExitCode.Failed;
  }
  await untilSignal(proc.log);
  await proc.stop();
  return ExitCode.Ok;
}

async function start(loaded: LoadedConfig): Promise<number> {
  const gateway = new Gateway({ config: loaded.config, pretty: process.stdout.isTTY });
  try {
    await gateway.start();
  } catch (err) {
    process.stderr.write(`dicom-gateway could not start: ${(err as Error).message}\n`);
    return ExitCode.Failed;
  }
  gateway.log.info({ configFile: loaded.file ?? '(built-in defaults)' }, 'configuration loaded');
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      gateway.log.info({ signal }, 'shutting down');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // A second signal during shutdown forces the exit.
  const force = (): void => process.exit(ExitCode.Failed);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await gateway.stop();
  return ExitCode.Ok;
}

export async function runCli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, types: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return ExitCode.Usage;
  }
  const { values, positionals } = parsed;
  const command = values.help === true ? 'help' : values.version === true ? 'version' : (positionals[0] ?? 'help');
  switch (command) {
    case 'help':
      process.stdout.write(usage);
      return ExitCode.Ok;
    case 'version':
      process.stdout.write(`${version}\n`);
      return ExitCode.Ok;
    case 'check-config': {
      const loaded = load(values.config);
      if (loaded === undefined) return ExitCode.Usage;
      process.stdout.write(`# ${loaded.file ?? 'built-in defaults'} with environment overrides: valid\n${stringify(maskSecrets(loaded.config))}`);
      return ExitCode.Ok;
    }
    case 'seal-secret': {
      const loaded = load(values.config);
      if (loaded === undefined) return ExitCode.Usage;
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      if (secret === '') {
        process.stderr.write('nothing to seal: give the secret on standard input\n');
        return ExitCode.Usage;
      }
      const keyFile = loaded.config.secretKeyFile ?? defaultSecretKeyFile(loaded.config.dataDir);
      process.stdout.write(`${sealSecret(secret, loadSecretKey(keyFile, true))}\n`);
      return ExitCode.Ok;
    }
    case 'worker': {
      const loaded = load(values.config);
      if (loaded === undefined) return ExitCode.Usage;
      if (loaded.config.queue.driver !== 'redis') {
        process.stderr.write('the worker command needs queue.driver: redis (the embedded queue runs its workers inside the gateway)\n');
        return ExitCode.Usage;
      }
      const types = values.types?.split(',').map((t) => t.trim()).filter((t) => t !== '');
      return worker(loaded, types);
    }
    case 'start': {
      const loaded = load(values.config);
      if (loaded === undefined) return ExitCode.Usage;
      return start(loaded);
    }
    default:
      process.stderr.write(`unknown command "${command}"\n\n${usage}`);
      return ExitCode.Usage;
  }
}
