#!/usr/bin/env node
import { exitQuietlyOnClosedPipe } from './closed-pipe.ts';
import { runCli } from './run.ts';
import { endBySignal, signalOfExitCode } from './signals.ts';

// `sluice … | head`: the reader leaving ends sluice quietly with status 0 (closed-pipe.ts).
exitQuietlyOnClosedPipe();
const code = await runCli(process.argv);
process.exitCode = code;
// Stopped by SIGINT/SIGTERM: end by that signal at once (see signals.ts), not wait on backends.
const stoppedBy = signalOfExitCode(code);
if (stoppedBy) endBySignal(stoppedBy);
