import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const created = new Set<string>();

function removeCreated(): void {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
  created.clear();
}

// vitest imports this module afresh for every test file (isolation), so this hook runs at the end
// of each file and removes every folder the file made: at module level, in hooks or inside tests
// (an afterAll registered inside a running test never fires, and vitest ends its workers without
// an 'exit' event). The global teardown fails the run if anything is left (vitest.config.ts).
afterAll(removeCreated);

/** A fresh temp directory, removed at the end of the test file. */
export function tempDir(label = 'sluice'): string {
  const dir = mkdtempSync(path.join(tmpdir(), `${label}-`));
  created.add(dir);
  return dir;
}
