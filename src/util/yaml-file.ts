/**
 * The one way sluice reads YAML (the config file, a poller config, a pipeline schema file). The
 * parser (about 70 modules) loads on first use: most commands run on flags and environment
 * variables alone, and start-up time is part of every command.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SluiceError } from '../errors.ts';

const require = createRequire(import.meta.url);

/** Parses YAML text (JSON is YAML too); throws the parser's error as it is. */
export function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** How a reader names its file in errors, and which coded error it throws. */
export interface YamlFileErrors {
  /** e.g. 'config file', 'schema file', 'poller config'. */
  what: string;
  error: (message: string, options: { cause: unknown; context: { file: string } }) => SluiceError;
}

/**
 * Reads and parses `file`: `Cannot read <what> <file>: …` when it cannot be read, `<What> <file>
 * is not valid YAML: …` when it does not parse, each as the reader's own coded error.
 */
export function readYamlFile(file: string, errors: YamlFileErrors): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw errors.error(`Cannot read ${errors.what} ${file}: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
  try {
    return parseYaml(text);
  } catch (error) {
    const what = errors.what.charAt(0).toUpperCase() + errors.what.slice(1);
    throw errors.error(`${what} ${file} is not valid YAML: ${(error as Error).message}`, {
      cause: error,
      context: { file },
    });
  }
}
