#!/usr/bin/env node
import { main } from '../lib/cli/main.js';

const status = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: Boolean(process.stdout.isTTY),
  env: process.env,
});
process.exitCode = status;
