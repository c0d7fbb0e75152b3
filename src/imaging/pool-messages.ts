import type { ErrorCode } from '../domain/errors.ts';
import type { InstanceRendering, RenderSettings } from './render-instance.ts';

/** What the pool asks of a worker thread. */
export type PoolTask =
  | { op: 'instance'; file: string; outBase: string; settings: RenderSettings }
  | { op: 'frames'; file: string; outDir: string; range: { from: number; to: number }; settings: Pick<RenderSettings, 'jpeg' | 'windowPresets'> };

export interface PoolRequest {
  id: number;
  task: PoolTask;
}

export type PoolResponse =
  | { id: number; ok: true; result: InstanceRendering | number }
  | { id: number; ok: false; error: { name: string; message: string; code: ErrorCode | string | undefined } };
