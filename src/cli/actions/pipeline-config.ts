/** What the pipeline actions share: the configuration from -c/--env, and the lake check of read-only commands. */
import type { Config } from '../../config/config.ts';
import type { Environment } from '../../config/names.ts';
import { openStorage } from '../../storage/open.ts';
import { lazy } from '../lazy.ts';

const configModule = lazy(() => import('../../config/config.ts'));
const localRoot = lazy(() => import('../../storage/local-root.ts'));

/** E011 naming the lake when a local lake root does not exist (read-only commands create nothing). */
export async function assertLakeExists(config: Config): Promise<void> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(config.lakeRoot) && !config.lakeRoot.startsWith('file:')) return;
  const { assertLocalRootExists } = await localRoot();
  const lake = openStorage(config.lakeRoot);
  try {
    await assertLocalRootExists(lake, 'lake (lakeRoot; no pipeline has run here yet?)');
  } finally {
    await lake.close();
  }
}

/** The config file (-c) with an optional --env override; the validator loads only here. */
export async function loadConfig(opts: { config?: string; env?: string }): Promise<Config> {
  const { Config } = await configModule();
  const cfg = Config.load(opts.config ? { file: opts.config } : {});
  return opts.env ? cfg.with({ env: opts.env as Environment }) : cfg;
}
