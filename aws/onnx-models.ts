/**
 * Imported ONNX models run with onnxruntime-node (CPU), imported only when a version is an ONNX one: a
 * function that serves our own models never loads the runtime. In Lambda the runtime comes from a layer of
 * the stack's (infra/function.ts onnxRuntimeLayer); the session is made once per model folder and process.
 */
import { createRequire } from 'node:module';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { type OnnxBinding, softmaxRows } from '../core/onnx.ts';

type Runtime = typeof import('onnxruntime-node');
let runtime: Promise<Runtime> | undefined;

/**
 * onnxruntime-node, on first need (its native library is loaded then). Required (not imported) so that
 * NODE_PATH finds it where Lambda mounts its layer, /opt/nodejs/node_modules (ES module resolution reads no
 * NODE_PATH), as core/image.ts does for sharp.
 */
function onnxRuntime(): Promise<Runtime> {
  runtime ??= Promise.resolve().then(() => createRequire(import.meta.url)('onnxruntime-node') as Runtime);
  return runtime;
}

/** A loaded model: class probabilities (or values) for flat instances, as the platform's models answer. */
export interface OnnxForward {
  predict(x: Float32Array): Promise<number[][]>;
  dispose(): void;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

/** A session over the file's bytes (it loads and checks the graph: an unknown operator fails here). */
export async function onnxSession(bytes: Uint8Array): Promise<InferenceSession> {
  const ort = await onnxRuntime();
  // One thread per session: a request's instances are few, and a pool of spinning threads would take the CPU
  // from the event loop that serves every other request (p99 under load was 4× our own models' with the pool).
  return ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
}

/** The forward pass of an imported model through its binding (core/onnx.ts bindOnnx). */
export async function onnxForward(bytes: Uint8Array, binding: OnnxBinding): Promise<OnnxForward> {
  const ort = await onnxRuntime();
  const session = await onnxSession(bytes);
  const perInstance = binding.image
    ? binding.image.height * binding.image.width * binding.image.channels
    : binding.inputs.reduce((sum, input) => sum + input.width, 0);
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async predict(x: Float32Array): Promise<number[][]> {
      const n = x.length / perInstance;
      const feeds: Record<string, Tensor> = {};
      if (binding.image) {
        const { input, layout, height, width, channels } = binding.image;
        feeds[input] = new ort.Tensor(
          'float32',
          imageTensor(x, n, binding.image),
          layout === 'NCHW' ? [n, channels, height, width] : [n, height, width, channels],
        );
      } else {
        for (const input of binding.inputs) {
          const data =
            input.type === 'float64' ? new Float64Array(n * input.width) : new Float32Array(n * input.width);
          for (let i = 0; i < n; i++) {
            const from = i * perInstance + input.offset;
            for (let j = 0; j < input.width; j++) data[i * input.width + j] = x[from + j] as number;
          }
          feeds[input.name] = new ort.Tensor(input.type, data, input.rank === 1 ? [n] : [n, input.width]);
        }
      }
      const results = await session.run(feeds, [binding.output.name]);
      const out = results[binding.output.name] as Tensor;
      const values = out.data as Float32Array | Float64Array;
      const width = binding.output.width;
      if (values.length !== n * width) {
        throw new Error(
          `output "${binding.output.name}" has ${values.length} values for ${n} instance(s), not ${n * width}`,
        );
      }
      const rows: number[][] = [];
      for (let i = 0; i < n; i++) rows.push(Array.from(values.subarray(i * width, (i + 1) * width)));
      for (const tensor of [...Object.values(feeds), ...Object.values(results)]) tensor.dispose();
      return binding.output.kind === 'logits' ? softmaxRows(rows) : rows;
    },
    dispose: () => {
      void session.release();
    },
  };
}

/**
 * Decoded images (height × width × channels, each value a pixel over 255: core/preprocessor.ts imageInput)
 * → the model's input: pixel / scale, then (x − mean) / std per channel, in the model's layout.
 */
function imageTensor(x: Float32Array, n: number, image: NonNullable<OnnxBinding['image']>): Float32Array {
  const { height, width, channels, layout, scale, mean, std } = image;
  const plane = height * width;
  const out = new Float32Array(x.length);
  const factor = 255 / scale;
  for (let i = 0; i < n; i++) {
    const base = i * plane * channels;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < channels; c++) {
        const value =
          ((x[base + p * channels + c] as number) * factor - (mean[c] as number)) / (std[c] as number);
        out[layout === 'NCHW' ? base + c * plane + p : base + p * channels + c] = value;
      }
    }
  }
  return out;
}

/** onnxruntime-node's version (for the lineage of what serves a model). */
export async function onnxRuntimeVersion(): Promise<string> {
  const ort = await onnxRuntime();
  return ort.env.versions.node ?? ort.env.versions.common;
}
