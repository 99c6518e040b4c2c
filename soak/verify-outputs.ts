/**
 * Checks of the downstream stages: the export, the writer's output, the pipeline's landing file,
 * the promoted manifests and both syncs, each against the points or bytes it must hold.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { csvPoints, getObject, listObjects, parquetPoints, sha256 } from './inspect.ts';
import type { RoundPlan } from './plan.ts';
import { exportFile, mirrorDir } from './stages.ts';
import { comparePoints, detail, expectedPoints, type Tally, tally } from './tally.ts';
import type { World } from './world.ts';

const scratch = (world: World) => path.join(world.runDir, 'check.parquet');

async function s3Bytes(world: World, key: string): Promise<Buffer | undefined> {
  try {
    return await getObject(world.s3, key);
  } catch {
    return undefined;
  }
}

export async function checkTables(world: World, plan: RoundPlan): Promise<Tally[]> {
  const expected = expectedPoints(plan.batches);
  const exp = tally('ts export', 'the CSV holds every point of the window once', 'rows');
  const csv = exportFile(world, plan.round);
  if (existsSync(csv)) comparePoints(exp, expected, csvPoints(csv));
  else {
    exp.in += expected.size;
    exp.lost += expected.size;
    detail(exp, `${csv} missing`);
  }
  const out: Tally[] = [exp];
  const parquet: [string, string, string][] = [
    [
      'writer',
      'the task output holds every row of its input once (atomic write)',
      `tasks/soak/output/r${plan.round}.parquet`,
    ],
    [
      'ingest-csv → dev',
      'the landing file holds every row of the CSV once',
      `pipeline/dev/landing/soak/r${plan.round}.parquet`,
    ],
  ];
  for (const [stage, promise, key] of parquet) {
    const t = tally(stage, promise, 'rows');
    const bytes = await s3Bytes(world, key);
    if (bytes) comparePoints(t, expected, await parquetPoints(bytes, scratch(world)));
    else {
      t.in += expected.size;
      t.lost += expected.size;
      detail(t, `${key} missing`);
    }
    out.push(t);
  }
  return out;
}

interface ManifestFile {
  path: string;
  key: string;
  sha256?: string;
}

/** The env's published manifest: `_sluice/<env>/manifest.json`, file keys from the lake root (docs/pipeline.md). */
async function manifest(world: World, env: string): Promise<ManifestFile[] | undefined> {
  const bytes = await s3Bytes(world, `pipeline/_sluice/${env}/manifest.json`);
  return bytes ? (JSON.parse(bytes.toString('utf8')) as { files: ManifestFile[] }).files : undefined;
}

/**
 * Every landing file of rounds ≤ this one is in the target's manifest with the source's sha256,
 * the version it names holds those bytes, and so does the plain path outside readers glob.
 */
export async function checkPromotion(
  world: World,
  plan: RoundPlan,
  from: 'dev' | 'qa',
  to: 'qa' | 'prod',
): Promise<Tally> {
  const t = tally(
    `promote ${from} → ${to}`,
    'the target manifest names every source file, same sha256; its version and plain path hold those bytes',
    'files',
  );
  const target = await manifest(world, to);
  const source = from === 'qa' ? await manifest(world, 'qa') : undefined;
  const hashOf = async (key: string) => {
    const bytes = await s3Bytes(world, key);
    return bytes ? sha256(bytes) : 'missing';
  };
  for (let round = 1; round <= plan.round; round++) {
    const p = `landing/soak/r${round}.parquet`;
    t.in++;
    const want =
      from === 'dev' ? await hashOf(`pipeline/dev/${p}`) : source?.find((f) => f.path === p)?.sha256;
    const entries = (target ?? []).filter((f) => f.path === p);
    const entry = entries[0];
    if (!entry) {
      t.lost++;
      detail(t, `${to} manifest lacks ${p}`);
      continue;
    }
    if (entries.length > 1) {
      t.duplicated += entries.length - 1;
      detail(t, `${to} manifest names ${p} ${entries.length} times`);
    }
    const version = await hashOf(`pipeline/${entry.key}`);
    const plain = await hashOf(`pipeline/${to}/${p}`);
    if (entry.sha256 !== want || version !== entry.sha256 || plain !== entry.sha256) {
      t.lost++;
      const short = (h: string | undefined) => h?.slice(0, 12);
      detail(
        t,
        `${to}/${p}: manifest ${short(entry.sha256)}, ${from} ${short(want)}, version ${short(version)}, plain path ${short(plain)}`,
      );
      continue;
    }
    t.out++;
  }
  return t;
}

interface LocalFile {
  hash: string;
  bytes: Buffer;
}

/** How two versions of a file differ, for the report: sizes, and whether one is the other cut short. */
function howDifferent(local: Buffer, remote: Buffer): string {
  const prefix = remote.subarray(0, local.length).equals(local);
  return `${local.length} bytes locally, ${remote.length} on S3${prefix && local.length < remote.length ? ' (a cut-short copy)' : ''}`;
}

function localFiles(dir: string): Map<string, LocalFile> {
  const out = new Map<string, LocalFile>();
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const rel = path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/');
    // sluice's own bookkeeping (metadata, temp files of a killed write) is not the user's data.
    if (rel.split('/').some((s) => s === '_sluice' || s.startsWith('.sluice') || s.endsWith('.sluice-tmp')))
      continue;
    const bytes = readFileSync(path.join(dir, rel));
    out.set(rel, { hash: sha256(bytes), bytes });
  }
  return out;
}

/** `sync <local> <s3>` and `sync <s3> <local>`: every source file at the target with the same bytes. */
export async function checkSyncs(world: World): Promise<Tally[]> {
  const up = tally('sync local → s3', 'every local file at the target with the same bytes', 'files');
  const exportsDir = path.dirname(exportFile(world, 1));
  const remoteUp = new Map<string, Buffer>();
  for (const o of await listObjects(world.s3, 'exports/'))
    remoteUp.set(o.key.slice('exports/'.length), (await s3Bytes(world, o.key)) ?? Buffer.alloc(0));
  for (const [rel, file] of localFiles(exportsDir)) {
    up.in++;
    const got = remoteUp.get(rel);
    if (got && sha256(got) === file.hash) up.out++;
    else {
      up.lost++;
      detail(
        up,
        `exports/${rel}: ${got ? `different bytes: ${howDifferent(file.bytes, got)}` : 'missing'} on S3`,
      );
    }
  }
  const down = tally(
    'sync s3 → local',
    'every object (but _sluice/) on local disk with the same bytes',
    'files',
  );
  const local = localFiles(mirrorDir(world));
  for (const o of await listObjects(world.s3, 'pipeline/')) {
    // sync leaves the lake's reserved folder out by design (docs/pipeline.md).
    if (o.key.startsWith('pipeline/_sluice/')) continue;
    down.in++;
    const rel = o.key.slice('pipeline/'.length);
    const remote = (await s3Bytes(world, o.key)) ?? Buffer.alloc(0);
    const got = local.get(rel);
    if (got?.hash === sha256(remote)) down.out++;
    else {
      down.lost++;
      detail(
        down,
        `${rel}: ${got ? `different bytes: ${howDifferent(got.bytes, remote)}` : 'missing'} in the mirror`,
      );
    }
  }
  return [up, down];
}
