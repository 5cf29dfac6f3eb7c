/**
 * AlexNet (Krizhevsky, Sutskever and Hinton, 2012) scaled to the input: its geometry, without tfjs, so that the
 * budget counts its parameters at planning and the builder (core/model-builders.ts) builds the same layers.
 *
 * The original, on 227×227 RGB images: conv 96 11×11/4 (valid) → max-pool 3×3/2 → conv 256 5×5 (same) →
 * max-pool 3×3/2 → conv 384 3×3 → conv 384 3×3 → conv 256 3×3 → max-pool 3×3/2 → 6×6×256 → dense 4096 →
 * dropout → dense 4096 → dropout → softmax. Scaled: the first two kernels and the first stride are the
 * original's times `side / 227` (kernels rounded to the nearest odd number, at least 3; the stride at least
 * 1), so that every input from 64 pixels a side on reaches the dense head as about 6×6×256 maps, as the
 * original does. Local response normalisation is left out, as in torchvision's and Keras' AlexNets.
 */

/** The smallest side AlexNet takes: its three 3×3/2 poolings need the maps the first convolution leaves. */
export const ALEXNET_MIN_SIDE = 64;
/** The side the original was designed for. */
const ORIGINAL_SIDE = 227;
/** Filters of the five convolutions (the original's). */
export const ALEXNET_FILTERS = [96, 256, 384, 384, 256] as const;

export interface AlexNetConv {
  readonly filters: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: 'valid' | 'same';
  /** A 3×3/2 max-pooling after it. */
  readonly pool: boolean;
}

export interface AlexNetGeometry {
  readonly convs: readonly AlexNetConv[];
  /** [height, width, channels] of the maps the dense head flattens. */
  readonly features: readonly [number, number, number];
}

const nearestOdd = (value: number): number => {
  const floor = Math.floor(value);
  const odd = floor % 2 === 1 ? floor : floor + 1;
  // The odd number nearest `value`: `odd` or the one below it.
  return value - (odd - 2) < odd - value ? odd - 2 : odd;
};

/** The five convolutions and the maps they leave, for images of `height × width`. */
export function alexNetGeometry(height: number, width: number): AlexNetGeometry {
  const scale = Math.min(height, width) / ORIGINAL_SIDE;
  const kernel = (original: number) => Math.max(3, nearestOdd(original * scale));
  const convs: AlexNetConv[] = [
    {
      filters: 96,
      kernel: kernel(11),
      stride: Math.max(1, Math.round(4 * scale)),
      padding: 'valid',
      pool: true,
    },
    { filters: 256, kernel: kernel(5), stride: 1, padding: 'same', pool: true },
    { filters: 384, kernel: 3, stride: 1, padding: 'same', pool: false },
    { filters: 384, kernel: 3, stride: 1, padding: 'same', pool: false },
    { filters: 256, kernel: 3, stride: 1, padding: 'same', pool: true },
  ];
  let [h, w] = [height, width];
  for (const conv of convs) {
    if (conv.padding === 'valid') {
      h = Math.floor((h - conv.kernel) / conv.stride) + 1;
      w = Math.floor((w - conv.kernel) / conv.stride) + 1;
    } else {
      h = Math.ceil(h / conv.stride);
      w = Math.ceil(w / conv.stride);
    }
    if (conv.pool) {
      h = Math.floor((h - 3) / 2) + 1;
      w = Math.floor((w - 3) / 2) + 1;
    }
  }
  return { convs, features: [h, w, 256] };
}

/**
 * Trainable parameters of AlexNet on `height × width × channels` images with `denseUnits` hidden dense layers
 * and `classes` outputs (what tfjs's `countParams()` counts of `buildAlexNet`).
 */
export function alexNetParameters(
  input: {
    readonly height: number;
    readonly width: number;
    readonly channels: number;
    readonly classes: number;
  },
  denseUnits: readonly number[],
): number {
  const { convs, features } = alexNetGeometry(input.height, input.width);
  let channels = input.channels;
  let total = 0;
  for (const conv of convs) {
    total += conv.kernel * conv.kernel * channels * conv.filters + conv.filters;
    channels = conv.filters;
  }
  let inputs = features[0] * features[1] * features[2];
  for (const units of [...denseUnits, input.classes]) {
    total += inputs * units + units;
    inputs = units;
  }
  return total;
}
