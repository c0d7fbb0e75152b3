import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isGatewayError } from '../../../src/domain/errors.ts';
import { frameRate, readPixelModule } from '../../../src/imaging/index.ts';

describe('pixel module', () => {
  test('names every attribute that is missing or cannot be rendered', () => {
    assert.throws(
      () => readPixelModule({ Columns: 0, BitsAllocated: 12, PhotometricInterpretation: 'CMYK', NumberOfFrames: '0' }),
      (err: unknown) => {
        assert.ok(isGatewayError(err));
        assert.deepEqual(
          err.issues.map((i) => i.path),
          ['Rows', 'Columns', 'BitsAllocated', 'PhotometricInterpretation', 'NumberOfFrames'],
        );
        assert.match(err.message, /^the image cannot be rendered: Rows missing; Columns 0: must be a positive whole number; BitsAllocated 12: only 8, 16 or 32/);
        return true;
      },
    );
  });

  test('samples per pixel must fit the photometric interpretation', () => {
    assert.throws(() => readPixelModule({ Rows: 2, Columns: 2, BitsAllocated: 8, SamplesPerPixel: 1, PhotometricInterpretation: 'RGB' }), /SamplesPerPixel 1 does not fit RGB/);
  });

  test('defaults: bits stored = allocated, high bit = stored - 1, unsigned, one frame', () => {
    assert.deepEqual(readPixelModule({ Rows: 2, Columns: 3, BitsAllocated: 16, PhotometricInterpretation: 'MONOCHROME2' }), {
      rows: 2,
      columns: 3,
      samplesPerPixel: 1,
      photometric: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 16,
      highBit: 15,
      signed: false,
      planar: false,
      frames: 1,
    });
  });
});

describe('frame rate', () => {
  for (const [name, elements, fps] of [
    ['Frame Time in ms', { FrameTime: '33.3333', CineRate: 10 }, 30],
    ['mean of the Frame Time Vector (its first entry is 0)', { FrameTimeVector: [0, 40, 40, 60, 60] }, 20],
    ['Recommended Display Frame Rate', { RecommendedDisplayFrameRate: 12, CineRate: 10 }, 12],
    ['Cine Rate', { CineRate: 15 }, 15],
    ['the default', {}, 25],
    ['clamped to 120', { FrameTime: 1 }, 120],
    ['a zero Frame Time is ignored', { FrameTime: 0, CineRate: 8 }, 8],
  ] as const) {
    test(name, () => {
      assert.ok(Math.abs(frameRate(elements as Record<string, unknown>, 25) - fps) < 0.01);
    });
  }
});
