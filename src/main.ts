#!/usr/bin/env node
// This file must parse and run on old Node versions: no static imports, no newer syntax.
const required = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < required) {
  process.stderr.write(
    `dicom-gateway needs Node.js ${required} or newer; this is ${process.version}.\n` +
      'Run it through npm (npm start), which uses the Node pinned in the project, or install Node 24 LTS.\n',
  );
  process.exit(1);
}
const { runCli } = await import('./cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
// Everything has been stopped; a client library that still holds a timer or socket (e.g. a Redis
// connection retrying while Redis is away) must not keep the process from exiting.
setTimeout(() => process.exit(), 3000).unref();
