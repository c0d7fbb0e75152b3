export { createHttpApp, type HttpAppDeps } from './app.ts';
export { HttpServer } from './server.ts';
export { sendProblem, problemHandler, type Problem } from './problem.ts';
export { associationsRouter, type AssociationsRouterDeps } from './associations-router.ts';
export { jobsRouter } from './jobs-router.ts';
export { instancesRouter, studiesRouter } from './archive-router.ts';
