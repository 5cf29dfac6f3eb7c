/** The kernels Nimbus adds to the tfjs wasm backend, checked against the cpu backend's own. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRandom } from '../../core/random.ts';
import { registerWasmTrainingKernels } from '../../core/wasm-kernels.ts';

registerWasmTrainingKernels();

type Shape4 = [number, number, number, number];
const values = (shape: number[], seed: number) => {
  const random = createRandom(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
};

async function onBackend<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  await tf.ready();
  return tf.tidy(f as () => tf.TensorContainer) as T;
}

function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number)));
  }
  return worst;
}

/** Runs one kernel on cpu and on wasm with the same inputs and asserts the same output. */
async function expectKernelMatchesCpu(
  name: string,
  inputs: () => tf.NamedTensorMap,
  attrs: object,
  tolerance = 1e-4,
) {
  const run = () => (tf.engine().runKernel(name, inputs(), attrs as tf.NamedAttrMap) as tf.Tensor).dataSync();
  const expected = await onBackend('cpu', run);
  const actual = await onBackend('wasm', run);
  const error = maxRelativeError(actual, expected);
  assert.ok(error < tolerance, `${name}: relative error ${error}`);
}

interface Case {
  readonly x: Shape4;
  readonly filter: Shape4;
  readonly strides: number | [number, number];
  readonly pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  readonly dataFormat?: 'NHWC' | 'NCHW';
}

const cases: Case[] = [
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 8, 9, 2], filter: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { x: [3, 10, 10, 1], filter: [5, 5, 1, 8], strides: 2, pad: 'valid' },
  { x: [1, 6, 6, 4], filter: [2, 2, 4, 2], strides: 3, pad: 'same' },
  { x: [4, 12, 12, 16], filter: [3, 3, 16, 32], strides: 1, pad: 'same' },
  { x: [2, 11, 9, 3], filter: [3, 2, 3, 6], strides: [2, 1], pad: 'same' },
  { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], strides: 1, pad: 1 },
  { x: [2, 3, 8, 8], filter: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW' },
  // A first layer of the bench's CNN (im2col and one product), and a deeper one (a convolution).
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, pad: 'same' },
  { x: [2, 14, 14, 16], filter: [3, 3, 16, 32], strides: 1, pad: 'same' },
  {
    x: [2, 9, 9, 3],
    filter: [3, 3, 3, 4],
    strides: 2,
    pad: [
      [0, 0],
      [1, 0],
      [0, 1],
      [0, 0],
    ],
  },
];

/**
 * Depthwise convolution gradients by definition (NHWC): y[n,oh,ow,c·M+m] = Σ x[n, oh·s+i·d−pt, ow·s+j·d−pl, c]
 * · w[i,j,c,m], so dW and dx are sums of dy over the same index pairs.
 */
function depthwiseReference(xShape: Shape4, filterShape: Shape4, info: tf.backend_util.Conv2DInfo) {
  const [n, h, w, c] = xShape;
  const [fh, fw, , m] = filterShape;
  const {
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const { top, left } = info.padInfo;
  const pairs = function* () {
    for (let b = 0; b < n; b++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++)
          for (let i = 0; i < fh; i++)
            for (let j = 0; j < fw; j++) {
              const row = y * sh + i * dh - top;
              const col = z * sw + j * dw - left;
              if (row < 0 || row >= h || col < 0 || col >= w) continue;
              for (let ch = 0; ch < c; ch++)
                for (let k = 0; k < m; k++) {
                  yield {
                    x: ((b * h + row) * w + col) * c + ch,
                    dy: ((b * oh + y) * ow + z) * c * m + ch * m + k,
                    filter: ((i * fw + j) * c + ch) * m + k,
                  };
                }
            }
  };
  return {
    filterGradient(x: Float32Array, dy: Float32Array) {
      const out = new Float32Array(fh * fw * c * m);
      for (const p of pairs())
        out[p.filter] = (out[p.filter] as number) + (x[p.x] as number) * (dy[p.dy] as number);
      return out;
    },
    inputGradient(dy: Float32Array, filter: Float32Array) {
      const out = new Float32Array(n * h * w * c);
      for (const p of pairs())
        out[p.x] = (out[p.x] as number) + (dy[p.dy] as number) * (filter[p.filter] as number);
      return out;
    },
  };
}

describe('convolution and pooling gradients on wasm', () => {
  for (const c of cases) {
    const name = `x ${c.x.join('×')} ${c.dataFormat ?? 'NHWC'}, filter ${c.filter.join('×')}, strides ${c.strides}, pad ${c.pad}`;
    it(`Conv2DBackpropFilter equals the cpu kernel: ${name}`, async () => {
      const channelsLast = c.dataFormat !== 'NCHW';
      const [n, h, w] = channelsLast ? c.x : [c.x[0], c.x[2], c.x[3]];
      const info = tf.backend_util.computeConv2DInfo(
        (channelsLast ? c.x : [c.x[0], c.x[2], c.x[3], c.x[1]]) as Shape4,
        c.filter,
        c.strides,
        1,
        c.pad,
      );
      const dyShape = channelsLast
        ? [n, info.outHeight, info.outWidth, c.filter[3]]
        : [n, c.filter[3], info.outHeight, info.outWidth];
      assert.ok(h > 0 && w > 0);
      const x = values(c.x, 1);
      const dy = values(dyShape, 2);
      const attrs = {
        strides: c.strides,
        pad: c.pad,
        dataFormat: c.dataFormat ?? 'NHWC',
        filterShape: c.filter,
      };
      await expectKernelMatchesCpu(
        tf.Conv2DBackpropFilter,
        () => ({ x: tf.tensor(x, c.x), dy: tf.tensor(dy, dyShape) }),
        attrs,
      );
    });
  }

  for (const c of cases) {
    const name = `dy for x ${c.x.join('×')} ${c.dataFormat ?? 'NHWC'}, filter ${c.filter.join('×')}, strides ${c.strides}, pad ${c.pad}`;
    it(`Conv2DBackpropInput equals the cpu kernel: ${name}`, async () => {
      const channelsLast = c.dataFormat !== 'NCHW';
      const nhwc = (channelsLast ? c.x : [c.x[0], c.x[2], c.x[3], c.x[1]]) as Shape4;
      const info = tf.backend_util.computeConv2DInfo(nhwc, c.filter, c.strides, 1, c.pad);
      const dyShape = channelsLast
        ? [nhwc[0], info.outHeight, info.outWidth, c.filter[3]]
        : [nhwc[0], c.filter[3], info.outHeight, info.outWidth];
      const dy = values(dyShape, 5);
      const filter = values(c.filter, 6);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', inputShape: c.x };
      await expectKernelMatchesCpu(
        tf.Conv2DBackpropInput,
        () => ({ dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, c.filter) }),
        attrs,
      );
    });
  }

  for (const [shape, size, stride, pad] of [
    [[2, 8, 8, 3], 2, 2, 'valid'],
    [[1, 6, 10, 2], 2, 2, 'same'],
    [[2, 7, 7, 2], 2, 2, 'valid'],
    [[2, 7, 5, 3], 2, 2, 'same'],
    [[1, 9, 9, 1], 3, 2, 'valid'],
    [[2, 9, 9, 3], 3, 2, 'same'],
    [[1, 8, 8, 2], 3, 1, 'same'],
    [[4, 28, 28, 16], 2, 2, 'valid'],
  ] as [Shape4, number, number, 'valid' | 'same'][]) {
    it(`MaxPoolGrad equals the cpu kernel: ${shape.join('×')}, pool ${size}, stride ${stride}, ${pad}`, async () => {
      const x = values(shape, 7);
      const gradient = () => {
        const g = tf.grad((a) =>
          tf
            .maxPool(a as tf.Tensor4D, size, stride, pad)
            .mul(tf.scalar(3))
            .sum(),
        );
        return g(tf.tensor4d(x, shape)).dataSync();
      };
      const expected = await onBackend('cpu', gradient);
      const actual = await onBackend('wasm', gradient);
      assert.ok(
        maxRelativeError(actual, expected) < 1e-5,
        `relative error ${maxRelativeError(actual, expected)}`,
      );
    });
  }

  it("MaxPoolGrad gives a tied maximum's gradient to its first position, as the cpu kernel does", async () => {
    // ReLU outputs: whole windows of zeros, and pairs of equal maxima.
    const x = Float32Array.from({ length: 2 * 6 * 6 * 2 }, (_, i) =>
      i % 5 === 0 ? 0 : Math.floor(i / 7) % 3,
    );
    const gradient = () => {
      const g = tf.grad((a) =>
        tf
          .maxPool(a.relu() as tf.Tensor4D, 2, 2, 'valid')
          .mul(tf.scalar(2))
          .sum(),
      );
      return g(tf.tensor4d(x, [2, 6, 6, 2])).dataSync();
    };
    const expected = await onBackend('cpu', gradient);
    const actual = await onBackend('wasm', gradient);
    assert.deepEqual([...actual], [...expected]);
  });

  const depthwise: {
    x: Shape4;
    filter: Shape4;
    strides: number;
    dilations: number;
    pad: 'same' | 'valid' | number;
  }[] = [
    { x: [2, 7, 7, 3], filter: [3, 3, 3, 1], strides: 1, dilations: 1, pad: 'valid' },
    { x: [2, 8, 9, 2], filter: [3, 3, 2, 2], strides: 2, dilations: 1, pad: 'same' },
    { x: [1, 10, 10, 4], filter: [3, 3, 4, 1], strides: 1, dilations: 2, pad: 'same' },
    { x: [3, 9, 7, 1], filter: [5, 5, 1, 3], strides: 2, dilations: 1, pad: 'valid' },
    { x: [2, 6, 6, 8], filter: [2, 2, 8, 1], strides: 3, dilations: 1, pad: 'same' },
    { x: [2, 9, 9, 2], filter: [3, 3, 2, 2], strides: 1, dilations: 1, pad: 1 },
    { x: [1, 11, 11, 3], filter: [3, 3, 3, 2], strides: 1, dilations: 3, pad: 'valid' },
  ];
  for (const c of depthwise) {
    const name = `x ${c.x.join('×')}, filter ${c.filter.join('×')}, strides ${c.strides}, dilations ${c.dilations}, pad ${c.pad}`;
    const info = tf.backend_util.computeConv2DInfo(
      c.x,
      c.filter,
      c.strides,
      c.dilations,
      c.pad,
      undefined,
      true,
    );
    const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[2] * c.filter[3]];
    const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad };
    // tfjs computes no depthwise gradient with dilations > 1 (its cpu kernels ignore them): there the
    // reference is the definition, summed in plain loops.
    const reference = c.dilations > 1 ? depthwiseReference(c.x, c.filter, info) : undefined;
    it(`DepthwiseConv2dNativeBackpropFilter equals ${reference ? 'the definition' : 'the cpu kernel'}: ${name}`, async () => {
      const x = values(c.x, 11);
      const dy = values(dyShape, 12);
      const inputs = () => ({ x: tf.tensor(x, c.x), dy: tf.tensor(dy, dyShape) });
      const kernelAttrs = { ...attrs, filterShape: c.filter };
      if (!reference)
        return expectKernelMatchesCpu(tf.DepthwiseConv2dNativeBackpropFilter, inputs, kernelAttrs);
      const actual = await onBackend('wasm', () =>
        (
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, inputs(), kernelAttrs) as tf.Tensor
        ).dataSync(),
      );
      assert.ok(maxRelativeError(actual, reference.filterGradient(x, dy)) < 1e-4);
    });
    it(`DepthwiseConv2dNativeBackpropInput equals ${reference ? 'the definition' : 'the cpu kernel'}: ${name}`, async () => {
      const dy = values(dyShape, 13);
      const filter = values(c.filter, 14);
      const inputs = () => ({ dy: tf.tensor(dy, dyShape), filter: tf.tensor(filter, c.filter) });
      const kernelAttrs = { ...attrs, inputShape: c.x };
      if (!reference)
        return expectKernelMatchesCpu(tf.DepthwiseConv2dNativeBackpropInput, inputs, kernelAttrs);
      const actual = await onBackend('wasm', () =>
        (
          tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, inputs(), kernelAttrs) as tf.Tensor
        ).dataSync(),
      );
      assert.ok(maxRelativeError(actual, reference.inputGradient(dy, filter)) < 1e-4);
    });
  }

  it('gives the same separable-convolution gradients as cpu through tf.grads, without leaking tensors', async () => {
    const x = values([2, 9, 9, 3], 15);
    const depth = values([3, 3, 3, 2], 16);
    const point = values([1, 1, 6, 4], 17);
    const gradients = () => {
      const g = tf.grads((a, b, p) =>
        tf
          .separableConv2d(a as tf.Tensor4D, b as tf.Tensor4D, p as tf.Tensor4D, 2, 'same')
          .relu()
          .square()
          .sum(),
      );
      return g([
        tf.tensor4d(x, [2, 9, 9, 3]),
        tf.tensor4d(depth, [3, 3, 3, 2]),
        tf.tensor4d(point, [1, 1, 6, 4]),
      ]).map((t) => t.dataSync());
    };
    const expected = await onBackend('cpu', gradients);
    const before = (await onBackend('wasm', () => tf.memory().numTensors)) as number;
    const actual = await onBackend('wasm', gradients);
    assert.equal(tf.memory().numTensors, before);
    for (let i = 0; i < 3; i++)
      assert.ok(maxRelativeError(actual[i] ?? [], expected[i] ?? []) < 1e-4, `input ${i}`);
  });

  for (const [a, b, transposeA, transposeB] of [
    [[5, 7], [5, 3], true, false],
    [[4, 6], [3, 6], false, true],
    [[6, 4], [3, 6], true, true],
    [[2, 5, 7], [2, 5, 3], true, false],
    [[4, 6], [6, 3], false, false],
  ] as [number[], number[], boolean, boolean][]) {
    it(`BatchMatMul equals the cpu kernel: ${a.join('×')}${transposeA ? 'ᵀ' : ''} · ${b.join('×')}${transposeB ? 'ᵀ' : ''}`, async () => {
      const av = values(a, 21);
      const bv = values(b, 22);
      await expectKernelMatchesCpu(
        tf.BatchMatMul,
        () => ({
          a: tf.tensor(av, a.length === 2 ? [1, ...a] : a),
          b: tf.tensor(bv, b.length === 2 ? [1, ...b] : b),
        }),
        { transposeA, transposeB },
      );
    });
  }

  it('gives the same conv2d gradients as cpu through tf.grads, without leaking tensors', async () => {
    const x = values([3, 9, 9, 2], 3);
    const filter = values([3, 3, 2, 4], 4);
    const gradients = () => {
      const g = tf.grads((a, b) =>
        tf
          .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')
          .relu()
          .square()
          .sum(),
      );
      return g([tf.tensor4d(x, [3, 9, 9, 2]), tf.tensor4d(filter, [3, 3, 2, 4])]).map((t) => t.dataSync());
    };
    const expected = await onBackend('cpu', gradients);
    const before = (await onBackend('wasm', () => tf.memory().numTensors)) as number;
    const actual = await onBackend('wasm', gradients);
    assert.equal(tf.memory().numTensors, before);
    for (let i = 0; i < 2; i++) assert.ok(maxRelativeError(actual[i] ?? [], expected[i] ?? []) < 1e-4);
  });

  it('lets a small CNN train on wasm: the loss falls', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 1],
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 2,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
        }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'sparseCategoricalCrossentropy' });
    // Class 1 images are bright in the top half, class 0 in the bottom half.
    const images = Array.from({ length: 64 }, (_, i) =>
      Array.from({ length: 64 }, (_, p) => (p < 32 === (i % 2 === 1) ? 1 : 0) + 0.1 * Math.sin(i * 7 + p)),
    );
    const xs = tf.tensor4d(images.flat(), [64, 8, 8, 1]);
    const ys = tf.tensor1d(
      images.map((_, i) => i % 2),
      'float32',
    );
    const history = await model.fit(xs, ys, { epochs: 15, batchSize: 16, shuffle: false, verbose: 0 });
    const loss = history.history.loss as number[];
    assert.ok(
      (loss[loss.length - 1] as number) < (loss[0] as number) / 4,
      `loss ${loss[0]} → ${loss[loss.length - 1]}`,
    );
    xs.dispose();
    ys.dispose();
    model.dispose();
  });
});
