#!/usr/bin/env node
import { main } from '../lib/cli-bundle/main.js';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const status = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: readStdin,
  isTty: Boolean(process.stdout.isTTY),
  env: process.env,
});
process.exitCode = status;
// The command has answered: once its output is flushed, nothing it started (a worker thread,
// a child process, a timer left by an integration module) may keep a CI job waiting.
const exitWhenFlushed = () => {
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(status);
  else setTimeout(exitWhenFlushed, 5);
};
exitWhenFlushed();
