import * as Comlink from 'comlink';
import { checkTopK } from '../image/limits.js';
import { toWire } from '../image/to-wire.js';
import { newCallId } from '../worker-host.js';
import type { ClassifyOptions, ImageInput, Prediction } from '../types.js';
import { ModelHandle } from './handle.js';

/**
 * A loaded image classifier. Get one from `client.load()`.
 *
 * @example
 * const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
 * const top = await model.classify(canvas, { topK: 3 });
 * // [{ label: 'Sneaker', index: 7, score: 0.93 }, { label: 'Sandal', index: 5, score: 0.05 }, …]
 * await model.dispose();
 */
export class Classifier extends ModelHandle {
  readonly task = 'image-classification' as const;

  /** Class labels, in output order. */
  get labels(): readonly string[] {
    return this.info.labels;
  }

  /**
   * Classifies one image. Pre-processing (resize, channels, normalisation) follows the
   * model's manifest and runs in the worker; pixels cross by transfer.
   *
   * @example
   * await model.classify({ data: pixels, width: 28, height: 28, channels: 1 }, { topK: 1 });
   * // [{ label: 'Trouser', index: 1, score: 0.99 }]
   */
  async classify(image: ImageInput, options: ClassifyOptions = {}): Promise<Prediction[]> {
    this.assertLive();
    const topK = checkTopK(options.topK);
    const wire = await toWire(image, options.transfer === true);
    const callId = newCallId();
    const result = await this.call(
      (remote) => remote.classify(Comlink.transfer({ callId, handle: this.handle, image: wire.image, topK }, wire.transfer)),
      { signal: options.signal, timeoutMs: options.timeoutMs ?? this.context.callTimeoutMs, callId, operation: 'classify' },
    );
    const host = this.context.host;
    if (result.backend !== host.backend?.name) await host.refreshBackend();
    return result.predictions;
  }
}
