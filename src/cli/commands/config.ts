/** `sluice config show|validate`: the effective configuration, from env and sluice.config.yaml. */
import type { Command } from 'commander';
import { ENV_NAMES } from '../../config/names.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';

// The loader and its validator (zod, yaml) load when a config command runs.
const configModule = lazy(() => import('../../config/config.ts'));

export function registerConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description('Show and validate configuration (env + sluice.config.yaml)');
  config
    .command('show')
    .description('Print the effective configuration (secrets masked) and where each value came from')
    .option('-c, --config <file>', 'config file (default: $SLUICE_CONFIG or ./sluice.config.yaml)')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const { Config } = await configModule();
      const cfg = Config.load(opts.config ? { file: opts.config } : {});
      const values = cfg.toJSON();
      if (opts.json) return printJson(values);
      printTable(
        Object.keys(ENV_NAMES).map((field) => ({
          setting: field,
          value: values[field] ?? '',
          source: cfg.sources[field] ?? 'default',
        })),
      );
    });
  config
    .command('validate')
    .description('Check the configuration and report every problem at once')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print {"ok": true, "env": …}')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const { Config } = await configModule();
      const cfg = Config.load(opts.config ? { file: opts.config } : {});
      cfg.validate();
      if (opts.json) printJson({ ok: true, env: cfg.env });
      else process.stdout.write(`configuration OK (env ${cfg.env})\n`);
    });
}
