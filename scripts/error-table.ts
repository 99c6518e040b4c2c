// Prints the README's error-code table from src/errors.ts (a test checks they agree).
import { ERROR_CODES } from '../src/errors.ts';

console.log('| Code | Error | Description | Resolution |');
console.log('|------|-------|-------------|------------|');
for (const [code, info] of Object.entries(ERROR_CODES)) {
  console.log(`| ${code} | ${info.name} | ${info.description} | ${info.resolution} |`);
}
