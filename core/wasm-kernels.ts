/**
 * Training kernels for the tfjs wasm backend, composed from the fast kernels it has (the way tfjs backends
 * compose their own), or written here over the wasm heap where no composition is fast:
 * - `Conv2DBackpropFilter`, which wasm lacks: without it no convolutional network trains on wasm. An input
 *   with few channels (a network's first layer) gets it as im2col and one matrix product, others as a
 *   convolution (see `IM2COL_MAX_CHANNELS`);
 * - `DepthwiseConv2dNativeBackpropFilter` and `…BackpropInput`, which wasm lacks too (depthwise and separable
 *   convolutions, MobileNet-style blocks);
 * - `BatchMatMul` with a transposed operand (every dense layer's gradients, Xᵀ·dY and dY·Wᵀ), which wasm runs
 *   several times slower than the same product with the operand transposed first (profiled: 12.8 ms of a
 *   25 ms MLP batch);
 * - `Conv2DBackpropInput`, which wasm has as plain loops several times slower than its XNNPACK convolution
 *   (profiled: 57 ms of a 148 ms CNN batch);
 * - `MaxPoolGrad`, one pass over the heap with the cpu kernel's rule for ties (wasm's own sent gradient to the
 *   wrong position on odd-sized maps).
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Info = tf.TensorInfo;

interface Backend {
  disposeData(dataId: object): boolean;
}

function kernel(name: string): KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`the wasm backend has no ${name} kernel to compose with`);
  return config.kernelFunc;
}

/** Geometry of an NHWC convolution (depthwise: each input channel convolved with its own filters). */
function convInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: {
    strides: number | [number, number];
    dilations?: number | [number, number];
    pad: unknown;
    dimRoundingMode?: unknown;
  },
  depthwise = false,
) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad as 'same',
    attrs.dimRoundingMode as 'floor' | undefined,
    depthwise,
    'channelsLast',
  );
}

/**
 * Inputs with fewer channels than this get the filter gradient as an im2col matrix product; others as a
 * convolution. Measured side by side on the bench's CNN (batch 64, 3×3 'same'): 28×28×1 → 16, 11 ms as
 * im2col and product against 18 ms as a convolution; 14×14×16 → 32, 17 ms as a convolution against 80–95 ms
 * as im2col (its identity convolution makes k² products per row, k = 144 there).
 */
const IM2COL_MAX_CHANNELS = 4;

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const composition = composer(backend);
  const { run, keep, release } = composition;
  try {
    const channelsLast = dataFormat !== 'NCHW';
    const xNhwc = channelsLast ? x : keep(run('Transpose', { x }, { perm: [0, 2, 3, 1] }));
    const dyNhwc = channelsLast ? dy : keep(run('Transpose', { x: dy }, { perm: [0, 2, 3, 1] }));
    const info = convInfo(xNhwc.shape, filterShape, { strides, pad, dimRoundingMode });
    const gradient =
      info.inChannels < IM2COL_MAX_CHANNELS ? filterGradientByIm2col : filterGradientByConvolution;
    return gradient(composition, backend, xNhwc, dyNhwc, info);
  } finally {
    release();
  }
};

/**
 * The filter gradient as one matrix product: the patches of the input, im2col'd into rows
 *   cols[(n, oh, ow), (fh, fw, ci)] = xPadded[n, oh·s + fh, ow·s + fw, ci]
 * and dW[co, (fh, fw, ci)] = dyᵀ · cols, wasm's fast `A·B` over the long shared dimension (n·oh·ow), then
 * transposed to [fh, fw, ci, co]. The patches are a convolution of the input with the identity (filter k
 * picks element k of the patch), which XNNPACK runs with the forward pass's strides and padding: k² products
 * per row for k = fh·fw·ci patch elements, cheap while the input has few channels.
 */
function filterGradientByIm2col(
  { run, keep }: Composer,
  backend: unknown,
  xNhwc: Info,
  dyNhwc: Info,
  info: tf.backend_util.Conv2DInfo,
): Info {
  const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: co, inChannels: ci } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const depth = fh * fw * ci;
  const identity = new Float32Array(depth * depth);
  for (let k = 0; k < depth; k++) identity[k * depth + k] = 1;
  const filter = keep(wasmBackend(backend).makeOutput([fh, fw, ci, depth], 'float32', undefined, identity));
  const { top, bottom, left, right } = info.padInfo;
  const patches = keep(
    run(
      'Conv2D',
      { x: xNhwc, filter },
      {
        strides: [info.strideHeight, info.strideWidth],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dilations: [1, 1],
        dataFormat: 'NHWC',
      },
    ),
  );
  const cols = keep(run('Reshape', { x: patches }, { shape: [1, n * oh * ow, depth] }));
  const grads = keep(run('Reshape', { x: dyNhwc }, { shape: [1, n * oh * ow, co] }));
  const product = keep(run('BatchMatMul', { a: grads, b: cols }, { transposeA: true, transposeB: false }));
  const dw = keep(run('Reshape', { x: product }, { shape: [co, fh, fw, ci] }));
  return run('Transpose', { x: dw }, { perm: [1, 2, 3, 0] });
}

/**
 * The filter gradient as a convolution:
 *   dW[fh, fw, ci, co] = Σ_{n, oh, ow} xPadded[n, oh·s + fh, ow·s + fw, ci] · dy[n, oh, ow, co]
 * i.e. the padded input transposed to [ci, h, w, n], convolved (stride 1, dilation s) with dy transposed to
 * [oh, ow, n, co] as the filter, gives [ci, fh', fw', co]; the first fh×fw rows and columns, transposed to
 * [fh, fw, ci, co], are dW. The convolution runs on wasm's XNNPACK Conv2D.
 */
function filterGradientByConvolution(
  { run, keep }: Composer,
  _backend: unknown,
  xNhwc: Info,
  dyNhwc: Info,
  info: tf.backend_util.Conv2DInfo,
): Info {
  const { top, bottom, left, right } = info.padInfo;
  const padded =
    top + bottom + left + right > 0
      ? keep(
          run(
            'PadV2',
            { x: xNhwc },
            {
              paddings: [
                [0, 0],
                [top, bottom],
                [left, right],
                [0, 0],
              ],
              constantValue: 0,
            },
          ),
        )
      : xNhwc;
  const xt = keep(run('Transpose', { x: padded }, { perm: [3, 1, 2, 0] }));
  const dyt = keep(run('Transpose', { x: dyNhwc }, { perm: [1, 2, 0, 3] }));
  const dilated = keep(
    run(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
      },
    ),
  );
  const [ci, height, width, co] = dilated.shape as [number, number, number, number];
  const cropped =
    height === info.filterHeight && width === info.filterWidth
      ? dilated
      : keep(
          run(
            'Slice',
            { x: dilated },
            { begin: [0, 0, 0, 0], size: [ci, info.filterHeight, info.filterWidth, co] },
          ),
        );
  return run('Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
}

/**
 * The input gradient of a convolution is a forward convolution: dy dilated by the stride (zeros between
 * rows and columns), padded by (kernel - 1 - forward padding), convolved with the filter flipped in space
 * and with its in/out channels swapped.
 */
const conv2DBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const { run, keep, release } = composer(backend);
  try {
    const channelsLast = dataFormat !== 'NCHW';
    const dyNhwc = channelsLast ? dy : keep(run('Transpose', { x: dy }, { perm: [0, 2, 3, 1] }));
    const shapeNhwc = (
      channelsLast ? inputShape : [inputShape[0], inputShape[2], inputShape[3], inputShape[1]]
    ) as [number, number, number, number];
    const info = convInfo(shapeNhwc, filter.shape, { strides, pad, dimRoundingMode });
    const { batchSize: n, outHeight, outWidth, inHeight, inWidth, inChannels } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const dilated = spreadByStride(run, keep, dyNhwc, sh, sw);
    const dh = (outHeight - 1) * sh + 1;
    const dw = (outWidth - 1) * sw + 1;
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const bottom = inHeight + fh - 1 - dh - top;
    const right = inWidth + fw - 1 - dw - left;
    const padded =
      Math.max(0, top) + Math.max(0, bottom) + Math.max(0, left) + Math.max(0, right) > 0
        ? keep(
            run(
              'PadV2',
              { x: dilated },
              {
                paddings: [
                  [0, 0],
                  [Math.max(0, top), Math.max(0, bottom)],
                  [Math.max(0, left), Math.max(0, right)],
                  [0, 0],
                ],
                constantValue: 0,
              },
            ),
          )
        : dilated;
    const flipped = keep(run('Reverse', { x: filter }, { dims: [0, 1] }));
    const swapped = keep(run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] }));
    let dx = keep(
      run(
        'Conv2D',
        { x: padded, filter: swapped },
        { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] },
      ),
    );
    if (dx.shape[1] !== inHeight || dx.shape[2] !== inWidth || top < 0 || left < 0) {
      dx = keep(
        run(
          'Slice',
          { x: dx },
          { begin: [0, Math.max(0, -top), Math.max(0, -left), 0], size: [n, inHeight, inWidth, inChannels] },
        ),
      );
    }
    const result = channelsLast ? dx : run('Transpose', { x: dx }, { perm: [0, 3, 1, 2] });
    if (result === dx) release(dx);
    return result;
  } finally {
    release();
  }
};

/**
 * The gradient of max pooling, one pass over the wasm heap: each window's dy goes to the first position that
 * holds its maximum (the cpu kernel's rule; overlapping windows add up), zeros elsewhere. wasm's own kernel
 * is a plain loop that was seen to send gradient to the wrong position on odd-sized maps; a composition of
 * its kernels (upsampling, an equality mask, a product) covered 2×2/2 pooling only, gave a tied maximum's
 * gradient to every tied position, and was measured side by side no faster (64×28×28×16: 16.3 ms here, 16.7
 * composed; 64×14×14×32: 4.4 against 6.2).
 */
const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: Info; input: Info };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const out = wasmBackend(backend).makeOutput([...input.shape], 'float32');
  const [x, g, dx] = [heap(backend, input), heap(backend, dy), heap(backend, out)];
  dx.fill(0);
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        best.fill(Number.NEGATIVE_INFINITY);
        at.fill(-1);
        for (let i = 0; i < fh; i++) {
          const r = y * sh + i - top;
          if (r < 0 || r >= h) continue;
          for (let j = 0; j < fw; j++) {
            const q = z * sw + j - left;
            if (q < 0 || q >= w) continue;
            const from = ((b * h + r) * w + q) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[from + ch] as number;
              if (v > (best[ch] as number)) {
                best[ch] = v;
                at[ch] = from + ch;
              }
            }
          }
        }
        const grads = ((b * oh + y) * ow + z) * c;
        for (let ch = 0; ch < c; ch++) {
          const p = at[ch] as number;
          if (p >= 0) dx[p] = (dx[p] as number) + (g[grads + ch] as number);
        }
      }
    }
  }
  return out;
};

/**
 * The filter gradient of a depthwise convolution, one kernel tap (fh, fw) at a time:
 *   dW[fh, fw, c, m] = Σ_{n, oh, ow} xPadded[n, oh·s + fh·d, ow·s + fw·d, c] · dy[n, oh, ow, c·M + m]
 * a strided slice of the padded input, times dy, summed over batch and space; the taps stacked.
 */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = convInfo(x.shape, a.filterShape, a, true);
  const { run, keep, release } = composer(backend);
  try {
    const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: c } = info;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { filterHeight: fh, filterWidth: fw } = info;
    const multiplier = info.outChannels / c;
    const { top, bottom, left, right } = info.padInfo;
    const padded =
      top + bottom + left + right > 0
        ? keep(
            run(
              'PadV2',
              { x },
              {
                paddings: [
                  [0, 0],
                  [top, bottom],
                  [left, right],
                  [0, 0],
                ],
                constantValue: 0,
              },
            ),
          )
        : x;
    const grads = keep(run('Reshape', { x: dy }, { shape: [n, oh, ow, c, multiplier] }));
    const taps: Info[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const window = keep(
          run(
            'StridedSlice',
            { x: padded },
            {
              begin: [0, i * dh, j * dw, 0],
              end: [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, c],
              strides: [1, sh, sw, 1],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            },
          ),
        );
        const column = keep(run('Reshape', { x: window }, { shape: [n, oh, ow, c, 1] }));
        const product = keep(run('Multiply', { a: column, b: grads }));
        taps.push(keep(run('Sum', { x: product }, { axis: [0, 1, 2], keepDims: false })));
      }
    }
    const stacked = keep(run('Pack', taps as unknown as Record<string, Info>, { axis: 0 }));
    return run('Reshape', { x: stacked }, { shape: [fh, fw, c, multiplier] });
  } finally {
    release();
  }
};

/**
 * The input gradient of a depthwise convolution, one kernel tap at a time: dy times the tap's weights,
 * summed over the channel multiplier, spread by the stride and placed at the tap's offset in the padded
 * input; the taps summed and the padding cropped.
 */
const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: Info; filter: Info };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = convInfo(a.inputShape, filter.shape, a, true);
  const { run, keep, release } = composer(backend);
  try {
    const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: c, inHeight, inWidth } = info;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { filterHeight: fh, filterWidth: fw } = info;
    const multiplier = info.outChannels / c;
    const spanH = (oh - 1) * sh + 1;
    const spanW = (ow - 1) * sw + 1;
    const canvasH = Math.max(info.padInfo.top + inHeight, (fh - 1) * dh + spanH);
    const canvasW = Math.max(info.padInfo.left + inWidth, (fw - 1) * dw + spanW);
    const grads = keep(run('Reshape', { x: dy }, { shape: [n, oh, ow, c, multiplier] }));
    const parts: Info[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const tapWeights = keep(
          run('Slice', { x: filter }, { begin: [i, j, 0, 0], size: [1, 1, c, multiplier] }),
        );
        const weights = keep(run('Reshape', { x: tapWeights }, { shape: [c, multiplier] }));
        const product = keep(run('Multiply', { a: grads, b: weights }));
        const summed = keep(run('Sum', { x: product }, { axis: [4], keepDims: false }));
        const part = spreadByStride(run, keep, summed, sh, sw);
        const paddings = [
          [0, 0],
          [i * dh, canvasH - i * dh - spanH],
          [j * dw, canvasW - j * dw - spanW],
          [0, 0],
        ];
        parts.push(keep(run('PadV2', { x: part }, { paddings, constantValue: 0 })));
      }
    }
    const sum =
      parts.length === 1 ? (parts[0] as Info) : keep(run('AddN', parts as unknown as Record<string, Info>));
    return run(
      'Slice',
      { x: sum },
      { begin: [0, info.padInfo.top, info.padInfo.left, 0], size: [n, inHeight, inWidth, c] },
    );
  } finally {
    release();
  }
};

/**
 * `Aᵀ·B` and `A·Bᵀ` as an explicit transpose and wasm's fast `A·B`: the transposed forms are the weight and
 * input gradients of every dense layer, and wasm runs them several times slower (profiled: Xᵀ·dY 12.8 ms vs
 * 1.6 ms; dY·Wᵀ 5.9 ms vs 1.0 ms). `A·B` itself keeps the native kernel.
 */
function batchMatMul(native: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!attrs.transposeA && !attrs.transposeB) return native(args);
    const { run, keep, release } = composer(args.backend);
    const swapLast = (t: Info) => {
      const rank = t.shape.length;
      return keep(run('Transpose', { x: t }, { perm: [...Array(rank - 2).keys(), rank - 1, rank - 2] }));
    };
    try {
      return native({
        inputs: { a: attrs.transposeA ? swapLast(a) : a, b: attrs.transposeB ? swapLast(b) : b },
        backend: args.backend,
        attrs: { ...attrs, transposeA: false, transposeB: false } as unknown as tf.NamedAttrMap,
      }) as Info;
    } finally {
      release();
    }
  };
}

/**
 * An NHWC gradient spread by the stride: (sh − 1) zero rows between rows, (sw − 1) zero columns between
 * columns — a reshape, a pad and a slice, no scatter. The input back when both strides are 1.
 */
function spreadByStride(
  run: ReturnType<typeof composer>['run'],
  keep: ReturnType<typeof composer>['keep'],
  x: Info,
  sh: number,
  sw: number,
): Info {
  if (sh === 1 && sw === 1) return x;
  const [n, height, width, channels] = x.shape as [number, number, number, number];
  const spread = keep(run('Reshape', { x }, { shape: [n * height, 1, width, 1, channels] }));
  const paddings = [
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ];
  const zeros = keep(run('PadV2', { x: spread }, { paddings, constantValue: 0 }));
  const flat = keep(run('Reshape', { x: zeros }, { shape: [n, height * sh, width * sw, channels] }));
  const size = [n, (height - 1) * sh + 1, (width - 1) * sw + 1, channels];
  return keep(run('Slice', { x: flat }, { begin: [0, 0, 0, 0], size }));
}

/** What a kernel written here needs of the wasm backend: its heap and where each tensor lives in it. */
interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array; wasmMemory?: { readonly buffer: ArrayBufferLike } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): Info;
}

function wasmBackend(backend: unknown): WasmBackendInternals {
  return backend as WasmBackendInternals;
}

/**
 * A float32 tensor's values in place on the wasm heap. Taken after every allocation of the kernel: the heap
 * may grow (and its buffer change) when one is made. The threaded build's memory is shared: its buffer is
 * read from the memory itself, which the glue's own views may lag behind after a growth.
 */
function heap(backend: unknown, info: Info): Float32Array {
  const { wasm, dataIdMap } = wasmBackend(backend);
  const data = dataIdMap.get(info.dataId);
  if (!data) throw new Error('a tensor the kernel reads is not on the wasm backend');
  const size = info.shape.reduce((a, b) => a * b, 1);
  return new Float32Array(wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer, data.memoryOffset, size);
}

type Composer = ReturnType<typeof composer>;

/** Runs wasm kernels by name and disposes the intermediates a composition made. */
function composer(backend: unknown) {
  const temporaries: Info[] = [];
  return {
    run: (name: string, inputs: Record<string, Info>, attrs: object = {}) =>
      kernel(name)({ inputs, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as Info,
    keep: (info: Info) => {
      temporaries.push(info);
      return info;
    },
    release: (info?: Info) => {
      if (info) {
        const i = temporaries.indexOf(info);
        if (i >= 0) temporaries.splice(i, 1);
        return;
      }
      for (const t of temporaries.splice(0)) (backend as Backend).disposeData(t.dataId);
    },
  };
}

/** Registers `kernelFunc` for `name` on wasm, keeping the native kernel's setup (and returning its function). */
function override(name: string, make: (native: KernelFunc | undefined) => KernelFunc): void {
  const native = tf.getKernel(name, 'wasm');
  if (native) tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: make(native?.kernelFunc),
    ...(native?.setupFunc ? { setupFunc: native.setupFunc } : {}),
    ...(native?.disposeFunc ? { disposeFunc: native.disposeFunc } : {}),
  });
}

let registered = false;

/** Registers the composed kernels for the wasm backend (once per process, before the backend starts). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  override(tf.Conv2DBackpropFilter, () => conv2DBackpropFilter);
  override(tf.Conv2DBackpropInput, () => conv2DBackpropInput);
  override(tf.BatchMatMul, (native) => {
    if (!native) throw new Error('the wasm backend has no BatchMatMul kernel to fall back on');
    return batchMatMul(native);
  });
  override(tf.DepthwiseConv2dNativeBackpropFilter, () => depthwiseBackpropFilter);
  override(tf.DepthwiseConv2dNativeBackpropInput, () => depthwiseBackpropInput);
  override(tf.MaxPoolGrad, () => maxPoolGrad);
}
