import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const created: string[] = [];
// afterAll registered inside a running test never fires, so also clean up when the worker exits.
process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the test file (or when the test process exits). */
export function tempDir(label = 'sluice'): string {
  const dir = mkdtempSync(path.join(tmpdir(), `${label}-`));
  created.push(dir);
  try {
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
  } catch {
    // Called inside a test body: the exit hook above removes it.
  }
  return dir;
}
