#!/usr/bin/env node
/** The `stores` executable. */
import { keepHeapsSmall } from './heap.js';
import { runCli } from './run.js';

keepHeapsSmall();

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
