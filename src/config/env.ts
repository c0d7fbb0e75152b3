/** The environment variables that override the config file, and where each one lands. */
interface EnvOverride {
  variable: string;
  path: readonly string[];
  kind: 'string' | 'integer';
}

export const envOverrides: readonly EnvOverride[] = [
  { variable: 'GATEWAY_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { variable: 'GATEWAY_AE_TITLE', path: ['gateway', 'aeTitle'], kind: 'string' },
  { variable: 'GATEWAY_TIMEZONE', path: ['gateway', 'timezone'], kind: 'string' },
  { variable: 'GATEWAY_HOST', path: ['dicom', 'host'], kind: 'string' },
  { variable: 'GATEWAY_HOST', path: ['http', 'host'], kind: 'string' },
  { variable: 'GATEWAY_DICOM_PORT', path: ['dicom', 'port'], kind: 'integer' },
  { variable: 'GATEWAY_HTTP_PORT', path: ['http', 'port'], kind: 'integer' },
  { variable: 'GATEWAY_API_TOKEN', path: ['http', 'apiToken'], kind: 'string' },
  { variable: 'GATEWAY_LOG_LEVEL', path: ['logging', 'level'], kind: 'string' },
  { variable: 'GATEWAY_QUEUE_DRIVER', path: ['queue', 'driver'], kind: 'string' },
  { variable: 'GATEWAY_REDIS_URL', path: ['queue', 'redisUrl'], kind: 'string' },
  { variable: 'GATEWAY_RECORDS_WEBHOOK_SECRET', path: ['records', 'webhook', 'secret'], kind: 'string' },
];

export type Env = Readonly<Record<string, string | undefined>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Writes the set variables into the raw (unvalidated) config, so that the schema validates them
 * like any other value. Returns which path came from which variable, for error messages.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Env): Map<string, string> {
  const origins = new Map<string, string>();
  for (const { variable, path, kind } of envOverrides) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    let node: Record<string, unknown> = raw;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!isRecord(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    // A non-numeric port stays a string, so that validation reports it with the variable's name.
    node[path.at(-1) as string] = kind === 'integer' && /^\d+$/.test(value.trim()) ? Number(value) : value;
    origins.set(path.join('.'), variable);
  }
  return origins;
}
