// Copies the dashboard's browser files (plain ES modules and CSS, not compiled by tsc) into dist/,
// where the built server serves them from: a published package holds dist/, not src/.
import { cpSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
cpSync(path.join(root, 'src/server/dashboard/ui'), path.join(root, 'dist/server/dashboard/ui'), {
  recursive: true,
});
