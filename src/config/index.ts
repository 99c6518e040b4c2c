export { Config, DEFAULT_CONFIG_FILE, type LoadConfigOptions, loadConfig } from './config.ts';
export { ENV_NAMES, ENVIRONMENTS, type Environment } from './names.ts';
export { configSchema, type SluiceConfigData } from './schema.ts';
