#!/usr/bin/env node
/** The `stores` executable. */
import v8 from 'node:v8';
import { runCli } from './run.js';

// The main thread's young generation keeps the size it reaches at start-up (see README, peak
// memory): over a long fleet run this thread only relays the workers' reports, and V8 would
// otherwise double its new space once enough has survived, for as long as the process lives.
v8.setFlagsFromString('--semi-space-growth-factor=1');

const code = await runCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
  stdoutTTY: process.stdout.isTTY === true,
  stderrTTY: process.stderr.isTTY === true,
  signals: true,
});
process.exitCode = code;
