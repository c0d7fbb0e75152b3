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
// libuv's thread pool (4 threads by default) carries the archive's file writes and fsyncs and the
// render threads' JPEG encoding (sharp) alike: with 4, imports wait behind renders (a 1,000-instance
// import took twice as long). It is sized when first used, so this must come before any other work.
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '16';
const { runCli } = await import('./cli.ts');
process.exitCode = await runCli(process.argv.slice(2));
// Everything has been stopped; a client library that still holds a timer or socket (e.g. a Redis
// connection retrying while Redis is away) must not keep the process from exiting.
setTimeout(() => process.exit(), 3000).unref();
