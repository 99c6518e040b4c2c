/** Flags of `npm run soak -- [--short] [--seed N] [--rounds N] [--keep] [--no-tmpfs]`. */
import { parseArgs } from 'node:util';
import { PROFILES, type Profile } from './plan.ts';
import { randomSeed } from './rng.ts';

export interface SoakArgs {
  profile: Profile;
  seed: number;
  /** Keep the run folder (logs of every process) afterwards. */
  keep: boolean;
  /** Use the fs fault layer even where a tmpfs can be mounted. */
  noTmpfs: boolean;
  diskSize: string;
}

export const USAGE = `usage: npm run soak -- [--short] [--seed N] [--rounds N] [--keep] [--no-tmpfs] [--disk-size 48m]

  --short       the CI profile (4 rounds, a few minutes); default is the long profile (20 rounds, about 20 minutes)
  --seed N      replay the fault plan of a run (printed at its start)
  --rounds N    override the profile's number of rounds
  --keep        keep the run folder with every process's log
  --no-tmpfs    use the fs fault layer instead of a real full tmpfs
  --disk-size S size of the small disk (tmpfs), default 48m`;

export function parseSoakArgs(argv: string[]): SoakArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: 'boolean', default: false },
      long: { type: 'boolean', default: false },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'no-tmpfs': { type: 'boolean', default: false },
      'disk-size': { type: 'string', default: '48m' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.short && values.long) throw new Error('--short and --long exclude each other');
  const profile = { ...PROFILES[values.short ? 'short' : 'long'] };
  if (values.rounds !== undefined) {
    const n = Number(values.rounds);
    if (!Number.isInteger(n) || n < 1 || n > 1000)
      throw new Error(`--rounds must be 1–1000, got ${values.rounds}`);
    profile.rounds = n;
  }
  let seed = randomSeed();
  if (values.seed !== undefined) {
    if (!/^\d{1,10}$/.test(values.seed) || Number(values.seed) > 0xffffffff)
      throw new Error(`--seed must be an integer 0–4294967295, got ${values.seed}`);
    seed = Number(values.seed);
  }
  if (!/^\d+[kmg]$/i.test(values['disk-size']))
    throw new Error(`--disk-size must look like 48m, got ${values['disk-size']}`);
  return { profile, seed, keep: values.keep, noTmpfs: values['no-tmpfs'], diskSize: values['disk-size'] };
}
