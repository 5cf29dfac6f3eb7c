/**
 * The model architectures: the MLP over feature rows (classifier or regressor), the small AlexNet-style
 * CNN over images and AlexNet itself (core/alexnet.ts), built and compiled from their hyperparameters with
 * seeded initializers.
 */
import { ALEXNET_MIN_SIDE, alexNetGeometry } from './alexnet.ts';
import { NimbusError } from './errors.ts';
import type {
  AlexNetHyperparameters,
  CnnHyperparameters,
  MlpHyperparameters,
  TrainingHyperparameters,
} from './hyperparameters.ts';
import { tf } from './tfjs.ts';

/** A model specification that cannot be built (the message says which value and why). */
export class ModelSpecError extends NimbusError {}

/**
 * An MLP over feature rows: a softmax over `outputs` classes, or (regression) one linear output trained on
 * mean squared error.
 */
export function buildMlp(
  inputWidth: number,
  outputs: number,
  hp: MlpHyperparameters,
  task: 'classification' | 'regression' = 'classification',
): tf.LayersModel {
  const model = tf.sequential();
  hp.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: hp.seed + i }),
        kernelRegularizer: decay(hp),
        inputShape: i === 0 ? [inputWidth] : undefined,
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout, seed: hp.seed + 100 + i }));
  });
  const regression = task === 'regression';
  model.add(
    tf.layers.dense({
      units: regression ? 1 : outputs,
      activation: regression ? 'linear' : 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: hp.seed + 1000 }),
      kernelRegularizer: decay(hp),
      inputShape: hp.hiddenUnits.length === 0 ? [inputWidth] : undefined,
    }),
  );
  model.compile({
    optimizer: tf.train.adam(hp.learningRate),
    loss: regression ? 'meanSquaredError' : 'sparseCategoricalCrossentropy',
    metrics: regression ? [] : ['accuracy'],
  });
  return model;
}

/** Whether a model predicts one number (regression) rather than class probabilities. */
export function isRegressor(model: tf.LayersModel): boolean {
  return model.loss === 'meanSquaredError';
}

/** L2 weight decay on a layer's kernel, when `hp.weightDecay` asks for it. */
function decay(hp: TrainingHyperparameters): ReturnType<typeof tf.regularizers.l2> | undefined {
  return hp.weightDecay ? tf.regularizers.l2({ l2: hp.weightDecay }) : undefined;
}

/** The small AlexNet-style CNN of `CnnHyperparameters` for images of `inputShape` ([height, width, channels]). */
export function buildCnn(
  inputShape: readonly [number, number, number],
  classCount: number,
  hp: CnnHyperparameters,
): tf.LayersModel {
  if (hp.kernelSize < 1 || hp.blockFilters.length === 0) {
    throw new ModelSpecError('a CNN needs at least one block and a kernel size of at least 1');
  }
  let [height, width] = inputShape;
  const model = tf.sequential();
  let seed = hp.seed;
  hp.blockFilters.forEach((filters, block) => {
    for (let c = 0; c < hp.convsPerBlock; c++) {
      model.add(
        tf.layers.conv2d({
          filters,
          kernelSize: hp.kernelSize,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
          kernelRegularizer: decay(hp),
          inputShape: block === 0 && c === 0 ? [...inputShape] : undefined,
        }),
      );
    }
    if (height < 2 || width < 2) {
      throw new ModelSpecError(
        `block ${block + 1} gets ${height}×${width} maps: too small to pool; use fewer blocks`,
      );
    }
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
  });
  return withClassifierHead(model, classCount, hp, seed);
}

/**
 * AlexNet for images of `inputShape` ([height, width, 3], at least 64 a side): five convolutions with ReLU
 * and three 3×3/2 max-poolings scaled to the input (core/alexnet.ts), then the dense head, each layer
 * followed by dropout, and a softmax. A GPU model: it trains on wasm, slowly.
 */
export function buildAlexNet(
  inputShape: readonly [number, number, number],
  classCount: number,
  hp: AlexNetHyperparameters,
): tf.LayersModel {
  const [height, width, channels] = inputShape;
  if (channels !== 3 || Math.min(height, width) < ALEXNET_MIN_SIDE) {
    throw new ModelSpecError(
      `AlexNet takes RGB images of at least ${ALEXNET_MIN_SIDE}×${ALEXNET_MIN_SIDE}; these are ${height}×${width}×${channels}`,
    );
  }
  const model = tf.sequential();
  let seed = hp.seed;
  alexNetGeometry(height, width).convs.forEach((conv, i) => {
    model.add(
      tf.layers.conv2d({
        filters: conv.filters,
        kernelSize: conv.kernel,
        strides: conv.stride,
        padding: conv.padding,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
        kernelRegularizer: decay(hp),
        inputShape: i === 0 ? [...inputShape] : undefined,
      }),
    );
    if (conv.pool) model.add(tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }));
  });
  return withClassifierHead(model, classCount, hp, seed);
}

/**
 * The image classifiers' head, compiled: the maps flattened, the hidden dense layers (ReLU, each followed by
 * dropout), a softmax over the classes; Adam on sparse cross-entropy. Initializers seeded from `seed` on.
 */
function withClassifierHead(
  model: tf.Sequential,
  classCount: number,
  hp: TrainingHyperparameters & { readonly denseUnits: readonly number[]; readonly dropout: number },
  seed: number,
): tf.LayersModel {
  model.add(tf.layers.flatten());
  for (const units of hp.denseUnits) {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed++ }),
        kernelRegularizer: decay(hp),
      }),
    );
    if (hp.dropout > 0) model.add(tf.layers.dropout({ rate: hp.dropout, seed: seed++ }));
  }
  model.add(
    tf.layers.dense({
      units: classCount,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      kernelRegularizer: decay(hp),
    }),
  );
  model.compile({
    optimizer: tf.train.adam(hp.learningRate),
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return model;
}
