import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ErrorCode, GatewayError, type FieldIssue } from '../domain/errors.ts';
import { toFieldIssues } from '../domain/validation.ts';
import { applyEnvOverrides, type Env } from './env.ts';
import { configSchema, type GatewayConfig } from './schema.ts';
import { defaultSecretKeyFile, openSealedValues } from './secrets.ts';

export const defaultConfigPath = 'config/gateway.yaml';

export interface LoadedConfig {
  config: GatewayConfig;
  /** The file read, or null when running on built-in defaults. */
  file: string | null;
}

export interface LoadOptions {
  /** `--config FILE`; wins over `GATEWAY_CONFIG`. */
  file?: string | undefined;
  env: Env;
  cwd: string;
}

export class ConfigError extends GatewayError {
  readonly file: string | null;
  constructor(file: string | null, issues: FieldIssue[]) {
    super(ErrorCode.Invalid, `invalid configuration${file === null ? '' : ` in ${file}`}`, { issues });
    this.name = 'ConfigError';
    this.file = file;
  }
}

function chooseFile(options: LoadOptions): { file: string | null; explicit: boolean } {
  const given = options.file ?? options.env['GATEWAY_CONFIG'];
  if (given !== undefined && given !== '') return { file: path.resolve(options.cwd, given), explicit: true };
  const fallback = path.resolve(options.cwd, defaultConfigPath);
  return { file: existsSync(fallback) ? fallback : null, explicit: false };
}

function readYaml(file: string): { raw: Record<string, unknown>; issues: FieldIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    return { raw: {}, issues: [{ path: '(file)', message: `cannot read ${file}: ${reason}`, hint: 'pass --config with an existing file or unset GATEWAY_CONFIG' }] };
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      raw: {},
      issues: doc.errors.map((e) => ({
        path: e.linePos?.[0] ? `(line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '(file)',
        message: e.message.split('\n')[0] ?? e.message,
        hint: 'fix the YAML syntax; indent with spaces, not tabs',
      })),
    };
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { raw: {}, issues: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { raw: {}, issues: [{ path: '(root)', message: 'the config file must be a mapping of keys to values', hint: 'see config/gateway.example.yaml' }] };
  }
  return { raw: value as Record<string, unknown>, issues: [] };
}

/** Reads, overrides from the environment and validates; throws one `ConfigError` listing every problem. */
export function loadConfig(options: LoadOptions): LoadedConfig {
  const { file } = chooseFile(options);
  const { raw, issues } = file === null ? { raw: {}, issues: [] } : readYaml(file);
  if (issues.length > 0) throw new ConfigError(file, issues);

  const origins = applyEnvOverrides(raw, options.env);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const all = toFieldIssues(result.error).map((issue) => {
      const variable = origins.get(issue.path);
      return variable === undefined ? issue : { ...issue, message: `${issue.message} (set by ${variable})` };
    });
    throw new ConfigError(file, all);
  }
  const config = result.data;
  config.dataDir = path.resolve(options.cwd, config.dataDir);
  if (config.secretKeyFile !== undefined) config.secretKeyFile = path.resolve(options.cwd, config.secretKeyFile);
  const sealed = openSealedValues(config as unknown as Record<string, unknown>, config.secretKeyFile ?? defaultSecretKeyFile(config.dataDir));
  if (sealed.length > 0) throw new ConfigError(file, sealed);
  return { config, file };
}

/** The CLI's entry: the process's own environment and working directory. */
export function loadConfigFromProcess(file?: string): LoadedConfig {
  return loadConfig({ file, env: process.env, cwd: process.cwd() });
}
