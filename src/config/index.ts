export { configSchema, mailboxSchema, type GatewayConfig, type ConfigInput } from './schema.ts';
export { loadConfig, loadConfigFromProcess, ConfigError, defaultConfigPath, type LoadedConfig, type LoadOptions } from './load.ts';
export { envOverrides, type Env } from './env.ts';
export { maskSecrets } from './mask.ts';
export { defaultSecretKeyFile, loadSecretKey, openSecret, sealSecret } from './secrets.ts';
