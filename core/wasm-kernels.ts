/**
 * Training kernels the tfjs wasm backend lacks, composed from kernels it has (the way tfjs backends compose
 * their own): without `Conv2DBackpropFilter` no convolutional network trains on wasm.
 *
 * The filter gradient of a 2-D convolution (NHWC, stride s, padding p) is itself a convolution:
 *   dW[fh, fw, ci, co] = Σ_{n, oh, ow} xPadded[n, oh·s + fh, ow·s + fw, ci] · dy[n, oh, ow, co]
 * i.e. the padded input transposed to [ci, h, w, n], convolved (stride 1, dilation s) with dy transposed to
 * [oh, ow, n, co] as the filter, gives [ci, fh', fw', co]; the first fh×fw rows and columns, transposed to
 * [fh, fw, ci, co], are dW. The convolution runs on wasm's XNNPACK Conv2D.
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

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: Info; dy: Info };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const run = (name: string, kernelInputs: Record<string, Info>, kernelAttrs: object = {}) =>
    kernel(name)({ inputs: kernelInputs, backend, attrs: kernelAttrs as tf.NamedAttrMap }) as Info;
  const temporaries: Info[] = [];
  const keep = (info: Info) => {
    temporaries.push(info);
    return info;
  };
  try {
    const channelsLast = dataFormat !== 'NCHW';
    const xNhwc = channelsLast ? x : keep(run('Transpose', { x }, { perm: [0, 2, 3, 1] }));
    const dyNhwc = channelsLast ? dy : keep(run('Transpose', { x: dy }, { perm: [0, 2, 3, 1] }));
    const info = tf.backend_util.computeConv2DInfo(
      xNhwc.shape as [number, number, number, number],
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast',
    );
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
  } finally {
    for (const temporary of temporaries) (backend as unknown as Backend).disposeData(temporary.dataId);
  }
};

let registered = false;

/** Registers the composed kernels for the wasm backend (once per process). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter,
    });
  }
}
