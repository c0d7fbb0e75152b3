export { createHttpApp, type HttpAppDeps } from './app.ts';
export { HttpServer } from './server.ts';
export { sendProblem, problemHandler, type Problem } from './problem.ts';
export { jobsRouter } from './jobs-router.ts';
