export { parseInstance, type ParsedInstance } from './dataset.ts';
export { initDecoders } from './decode.ts';
export { frameRenderer, modalityOf, type FrameRenderer, type RenderedFrame, type RenderOptions, type VoiSource } from './render.ts';
export { readPixelModule, Photometric, type PixelModule } from './pixel-module.ts';
export { pixelEncoding, PixelEncoding, isVideoEncoding } from './transfer-syntax.ts';
export { encodeJpeg, type JpegOptions } from './jpeg.ts';
export { frameRate } from './frame-rate.ts';
