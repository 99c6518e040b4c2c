/**
 * `sluice serve`: the long-running service — the HTTP API (InfluxDB line-protocol ingest,
 * time-series queries, /healthz /readyz /metrics), the web dashboard at `/`, and the pollers and
 * workers the config's `serve:` section names, in one process. The action lives in actions/serve-run.ts.
 */
import type { Command } from 'commander';
import { durationFlag, hostFlag, portFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';

const serving = lazy(() => import('../actions/serve-run.ts'));

export interface ServeCommandOptions {
  config?: string;
  port?: number;
  host?: string;
  tsRoot?: string;
  shutdownGrace?: number;
  /** `--demo [dir]`: true without a folder. */
  demo?: string | true;
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the HTTP API (InfluxDB line-protocol writes, time-series queries, /healthz, /readyz, /metrics), the web dashboard and the pollers and workers of the config, until SIGINT/SIGTERM',
    )
    .option(
      '-c, --config <file>',
      'config file with a serve: section (default: $SLUICE_CONFIG or ./sluice.config.yaml)',
    )
    .option('--port <port>', 'TCP port; 0 for any free one (default 8080)', portFlag('--port'))
    .option(
      '--host <host>',
      'address to bind (default 127.0.0.1; 0.0.0.0 or :: for every interface)',
      hostFlag('--host'),
    )
    .option(
      '--ts-root <pathOrUrl>',
      'folder or s3:// prefix holding the time-series stores (default <dataDir>/timeseries)',
    )
    .option(
      '--shutdown-grace <duration>',
      'time requests in flight get to finish after SIGINT/SIGTERM (default 10s)',
      durationFlag('--shutdown-grace'),
    )
    .option(
      '--demo [dir]',
      'serve the project made by sluice demo (default ./sluice-demo, or the current folder inside it) with sample time series, a poller and a worker; prints an admin token when none is set',
    )
    .action(async (opts: ServeCommandOptions, cmd: Command) => (await serving()).serve(opts, cmd));
}
