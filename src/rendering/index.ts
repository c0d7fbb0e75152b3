export { Renderer, type RendererDeps, type RenderResult } from './renderer.ts';
export { renderJob, type OnRendered, type RenderJobDeps } from './render-job.ts';
export { DerivedFileKind, type DerivedFile } from '../domain/derived-file.ts';
