export { Config, DEFAULT_CONFIG_FILE, type LoadConfigOptions, loadConfig } from './config.ts';
export { configSchema, ENV_NAMES, ENVIRONMENTS, type Environment, type SluiceConfigData } from './schema.ts';
