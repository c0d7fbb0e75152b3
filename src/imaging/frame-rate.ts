import { number, numbers } from './dataset.ts';

/**
 * Frames per second from the tags, in the order PS3.3 gives them weight: Frame Time (ms a frame), the
 * mean of the Frame Time Vector (its first entry is 0), Recommended Display Frame Rate, Cine Rate,
 * else the configured default. Clamped to 1..120.
 */
export function frameRate(elements: Record<string, unknown>, fallback: number): number {
  const clamp = (fps: number) => Math.min(120, Math.max(1, fps));
  const frameTime = number(elements['FrameTime']);
  if (frameTime !== undefined && frameTime > 0) return clamp(1000 / frameTime);
  const vector = numbers(elements['FrameTimeVector']).slice(1).filter((t) => t > 0);
  if (vector.length > 0) return clamp(1000 / (vector.reduce((a, b) => a + b, 0) / vector.length));
  for (const keyword of ['RecommendedDisplayFrameRate', 'CineRate']) {
    const fps = number(elements[keyword]);
    if (fps !== undefined && fps > 0) return clamp(fps);
  }
  return clamp(fallback);
}
