#!/usr/bin/env node
import { runCli } from './run.ts';
import { endBySignal, signalOfExitCode } from './signals.ts';

const code = await runCli(process.argv);
process.exitCode = code;
// Stopped by SIGINT/SIGTERM: end by that signal at once (see signals.ts), not wait on backends.
const stoppedBy = signalOfExitCode(code);
if (stoppedBy) endBySignal(stoppedBy);
