/**
 * The user's own sensitive names (issue #15), added to the built-in vocabulary for the whole
 * process before any command runs: `SLUICE_SENSITIVE_NAMES` (comma-separated) and the config
 * file's `sensitiveNames` list. They can only add: built-in names are never removed.
 */
import { readFileSync } from 'node:fs';
import { addSensitiveNames } from '../secrets/mask.ts';
import { parseYaml } from '../util/yaml-file.ts';
import { locateConfigFile } from './names.ts';

/** Splits `a, b,c` into names. */
export function parseNameList(text: string): string[] {
  return text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
}

/**
 * Registers the names from the environment and the config file in effect. A config file that
 * cannot be read or parsed adds nothing here: the command that uses it reports why.
 */
export function registerUserSensitiveNames(env: NodeJS.ProcessEnv = process.env): void {
  addSensitiveNames(parseNameList(env.SLUICE_SENSITIVE_NAMES ?? ''));
  const file = locateConfigFile(undefined, env);
  if (!file) return;
  try {
    const text = readFileSync(file, 'utf8');
    if (!text.includes('sensitiveNames')) return; // most files: no YAML parser loaded
    const names = (parseYaml(text) as { sensitiveNames?: unknown } | null)?.sensitiveNames;
    if (Array.isArray(names)) addSensitiveNames(names.filter((n): n is string => typeof n === 'string'));
  } catch {
    // Reported by the command that reads the config.
  }
}
