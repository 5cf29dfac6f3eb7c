/**
 * A worker of data-parallel training (core/data-parallel.ts): a copy of the model on its own wasm backend
 * (one thread), the epoch's data, and, for each batch, the gradient of its shard at the weights it is sent.
 */
import { parentPort } from 'node:worker_threads';
import { type FromWorker, shardGradients, type ToWorker } from './data-parallel.ts';
import { selectBackend, tf } from './tfjs.ts';

const port = parentPort;
if (!port) throw new Error('data-parallel-worker.ts runs as a worker thread');

let model: tf.LayersModel | undefined;
let data: { x: tf.Tensor; y: tf.Tensor; sampleWeights: tf.Tensor | undefined } | undefined;

function reply(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      await selectBackend('wasm');
      model = await tf.models.modelFromJSON(message.topology as tf.io.ModelJSON['modelTopology'] as never);
      model.compile({ optimizer: 'sgd', loss: message.loss, metrics: message.metrics });
      return reply({ type: 'ready' });
    }
    case 'epoch': {
      if (data) tf.dispose([data.x, data.y, ...(data.sampleWeights ? [data.sampleWeights] : [])]);
      data = {
        x: tf.tensor(message.x, message.shape),
        y: tf.tensor1d(message.y),
        sampleWeights: message.sampleWeights ? tf.tensor1d(message.sampleWeights) : undefined,
      };
      return reply({ type: 'ready' });
    }
    case 'step': {
      if (!model || !data) throw new Error('a step before the model and its data');
      const weights = model.trainableWeights;
      weights.forEach((w, i) => {
        const t = tf.tensor(message.weights[i] as Float32Array, w.shape as number[]);
        w.write(t);
        t.dispose();
      });
      const { x, y, sampleWeights } = data;
      const result = shardGradients(model, x, y, sampleWeights, message.start, message.end, message.total);
      return reply(
        { type: 'step', ...result },
        result.gradients.map((g) => g.buffer as ArrayBuffer),
      );
    }
    case 'close':
      process.exit(0);
  }
}

port.on('message', (message: ToWorker) => {
  handle(message).catch((error: unknown) =>
    reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
