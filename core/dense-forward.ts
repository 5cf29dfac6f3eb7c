/**
 * The plain-JS forward pass of a dense model: Dense layers over float32 weights, sums in float64, each
 * activation as tfjs defines it — the same arithmetic as tfjs without a tensor per call, so a prediction of one
 * row costs microseconds. No tfjs here: the serving path of a dense model never loads it (core/dense-model.ts).
 */

/** Activations the plain-JS forward pass computes, as tfjs defines them. */
export const DENSE_ACTIVATIONS = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax'] as const;
export type DenseActivation = (typeof DENSE_ACTIVATIONS)[number];

/** One Dense layer: its kernel (`inputs × units`, row-major), its bias, its activation. */
export interface DenseStep {
  readonly kernel: Float32Array;
  readonly bias: Float32Array | undefined;
  readonly inputs: number;
  readonly units: number;
  readonly activation: DenseActivation;
}

/** Flat rows of equal width → one flat array. */
export function flatten(rows: readonly (readonly number[])[]): Float32Array {
  const width = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * width);
  rows.forEach((row, i) => {
    flat.set(row, i * width);
  });
  return flat;
}

/** The forward pass of the layers, for flat samples: one row of outputs per sample. */
export function forwardPass(steps: readonly DenseStep[]): (x: Float32Array) => number[][] {
  const first = steps[0];
  if (!first) throw new Error('a dense model has at least one layer');
  // Each layer's activations, reused from row to row and call to call (the pass is synchronous).
  const input = new Float64Array(first.inputs);
  const outputs = steps.map((step) => new Float64Array(step.units));
  return (x) => {
    const rows = x.length / first.inputs;
    const out: number[][] = [];
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < first.inputs; i++) input[i] = x[r * first.inputs + i] as number;
      let a: Float64Array = input;
      for (let s = 0; s < steps.length; s++) {
        const step = steps[s] as DenseStep;
        const z = outputs[s] as Float64Array;
        if (step.bias) for (let j = 0; j < step.units; j++) z[j] = step.bias[j] as number;
        else z.fill(0);
        for (let i = 0; i < step.inputs; i++) {
          const ai = a[i] as number;
          if (ai === 0) continue;
          const offset = i * step.units;
          for (let j = 0; j < step.units; j++)
            z[j] = (z[j] as number) + ai * (step.kernel[offset + j] as number);
        }
        activate(z, step.activation);
        a = z;
      }
      out.push(Array.from(a, (v) => Math.fround(v)));
    }
    return out;
  };
}

function activate(z: Float64Array, activation: DenseActivation): void {
  if (activation === 'relu') for (let j = 0; j < z.length; j++) z[j] = Math.max(0, z[j] as number);
  else if (activation === 'sigmoid')
    for (let j = 0; j < z.length; j++) z[j] = 1 / (1 + Math.exp(-(z[j] as number)));
  else if (activation === 'tanh') for (let j = 0; j < z.length; j++) z[j] = Math.tanh(z[j] as number);
  else if (activation === 'softmax') {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of z) max = Math.max(max, v);
    let sum = 0;
    for (let j = 0; j < z.length; j++) {
      z[j] = Math.exp((z[j] as number) - max);
      sum += z[j] as number;
    }
    for (let j = 0; j < z.length; j++) z[j] = (z[j] as number) / sum;
  }
}
