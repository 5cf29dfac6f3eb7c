/**
 * A model version's tensors — what it takes and what it answers, each with its type and shape — derived from
 * its input schema (`schema.json`), and written out as the two protocols describe a model: TF Serving's
 * SignatureDef (`GET /v1/models/<m>/metadata`) and the Open Inference Protocol's model metadata
 * (`GET /v2/models/<m>`). The first dimension is the batch (-1: any number of instances).
 */
import type { SignatureDef, TensorInfo, V2TensorMetadata } from './api-types.ts';
import type { ImageInputSchema, InputSchema } from './serving.ts';

/** A tensor's element type: a float32 number, or a string (a category; an image's bytes). */
export type TensorType = 'float' | 'string';

export interface TensorSpec {
  readonly name: string;
  readonly type: TensorType;
  readonly shape: readonly number[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** The input an image model takes: its encoded images (TF Serving's `_bytes` suffix for binary inputs). */
export const IMAGE_INPUT = 'image_bytes';

/**
 * Inputs: one `[-1]` tensor per feature in the schema's order (float for a numeric one, string for a
 * categorical one), or an image model's encoded images (`image_bytes`, strings). Outputs: a classifier's
 * `label` `[-1]` and `probabilities` `[-1, classes]`, a regressor's `value` `[-1]`.
 */
export function modelSignature(schema: InputSchema | ImageInputSchema): ModelSignature {
  const inputs: TensorSpec[] =
    schema.kind === 'image'
      ? [{ name: IMAGE_INPUT, type: 'string', shape: [-1] }]
      : schema.features.map((f) => ({
          name: f.name,
          type: f.type === 'numeric' ? 'float' : 'string',
          shape: [-1],
        }));
  const outputs: TensorSpec[] =
    schema.task === 'regression'
      ? [{ name: 'value', type: 'float', shape: [-1] }]
      : [
          { name: 'label', type: 'string', shape: [-1] },
          { name: 'probabilities', type: 'float', shape: [-1, schema.classes.length] },
        ];
  return { inputs, outputs };
}

const TF_DTYPES: Record<TensorType, TensorInfo['dtype']> = { float: 'DT_FLOAT', string: 'DT_STRING' };
const V2_DATATYPES: Record<TensorType, V2TensorMetadata['datatype']> = { float: 'FP32', string: 'BYTES' };

/** The signature as TF Serving's `signature_def` of `serving_default` (a Predict signature). */
export function signatureDef(signature: ModelSignature): SignatureDef {
  const tensors = (specs: readonly TensorSpec[]) =>
    Object.fromEntries(
      specs.map((spec): [string, TensorInfo] => [
        spec.name,
        {
          dtype: TF_DTYPES[spec.type],
          tensor_shape: {
            dim: spec.shape.map((size) => ({ size: String(size), name: '' })),
            unknown_rank: false,
          },
          name: `${spec.name}:0`,
        },
      ]),
    );
  return {
    inputs: tensors(signature.inputs),
    outputs: tensors(signature.outputs),
    method_name: 'tensorflow/serving/predict',
  };
}

/** The signature's tensors as the Open Inference Protocol names them (`FP32`, `BYTES`). */
export function v2Tensors(specs: readonly TensorSpec[]): V2TensorMetadata[] {
  return specs.map((spec) => ({
    name: spec.name,
    datatype: V2_DATATYPES[spec.type],
    shape: [...spec.shape],
  }));
}
