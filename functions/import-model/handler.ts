/**
 * ImportModel: an ONNX file uploaded to `models/<name>/<file>.onnx` (datasets bucket) becomes a servable model
 * folder — checked (size, operator sets, inputs and outputs: core/onnx.ts), loaded and probed once in
 * onnxruntime, bound to the request contract by its manifest (`models/<name>/model.json`), evaluated on the
 * manifest's evaluation table when it names one (the same metrics as a trained version, and that table's
 * statistics as the drift baseline) — and its lineage (file hash, exporter, uploader). RegisterModel, Gate and
 * Deploy then treat it as any version. The same file imported again starts nothing.
 * Input: PipelineState (InitImport's). Output: ImportResult.
 */
import { bucketName } from '../../aws/config.ts';
import { listModelVersions } from '../../aws/model-registry.ts';
import { getBytes, getBytesIfExists, headObject, putBytes, putJson } from '../../aws/object-store.ts';
import { onnxForward, onnxRuntimeVersion, onnxSession } from '../../aws/onnx-models.ts';
import { createRun, updateRun } from '../../aws/runs.ts';
import { contentHash } from '../../core/dataset.ts';
import { ModelImportError } from '../../core/errors.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import { formatBytes } from '../../core/limits.ts';
import {
  argmax,
  classificationFigures,
  classificationMetrics,
  regressionMetrics,
} from '../../core/metrics.ts';
import type { Lineage } from '../../core/model-registry.ts';
import {
  bindOnnx,
  inspectOnnx,
  notProbabilities,
  ONNX_LIMITS,
  parseModelKey,
  parseOnnxManifest,
} from '../../core/onnx.ts';
import { evaluationTable } from '../../core/onnx-evaluation.ts';
import type { EvaluationResult, ImportResult, PipelineState } from '../../core/pipeline.ts';
import { isImagePreprocessor } from '../../core/preprocessor.ts';
import { bytesOf, streamRecords } from '../../core/table-reader.ts';
import type { Finding } from '../../core/validation/finding.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('import-model');
const artifactsBucket = bucketName('artifacts');
/** The largest evaluation table, read whole. */
const MAX_EVALUATION_BYTES = 64 * 1024 * 1024;
/** Instances per batch of the evaluation. */
const BATCH = 1000;

export async function handler(state: PipelineState): Promise<ImportResult> {
  logger.appendKeys({ runId: state.runId });
  const { model, file } = parseModelKey(state.key);
  const head = await headObject(state.bucket, state.key);
  const bytes = await getBytes(state.bucket, state.key, {
    maxBytes: ONNX_LIMITS.maxBytes,
    tooLarge: (size) =>
      new ModelImportError(
        `${state.key} is ${formatBytes(size)}, past ${formatBytes(ONNX_LIMITS.maxBytes)} (the model file cap)`,
      ),
  });
  const sha256 = contentHash(bytes);
  const seen = (await listModelVersions(model)).find((v) => v.lineage.external?.sha256 === sha256);
  if (seen) {
    const reason = `${state.key} is the file of ${model} v${seen.version} (sha256 ${sha256.slice(0, 12)}…): nothing to import`;
    logger.info('model import skipped', { model, reason });
    return { skip: true, reason, model };
  }
  await createRun({
    runId: state.runId,
    dataset: model,
    datasetKey: state.key,
    step: 'ImportModel',
    ...(state.startedAt ? { startedAt: state.startedAt } : {}),
  });

  const manifestKey = `models/${model}/model.json`;
  const manifestBytes = await getBytesIfExists(state.bucket, manifestKey, {
    maxBytes: ONNX_LIMITS.maxManifestBytes,
    tooLarge: (size) =>
      new ModelImportError(
        `${manifestKey} is ${formatBytes(size)}, past ${formatBytes(ONNX_LIMITS.maxManifestBytes)}`,
      ),
  });
  const manifest = manifestBytes ? parseOnnxManifest(parseJson(manifestBytes, manifestKey), manifestKey) : {};
  const facts = inspectOnnx(bytes, state.key);

  // Loading it checks the graph: an operator onnxruntime lacks, a type mismatch, a broken file.
  try {
    const session = await onnxSession(bytes);
    await session.release();
  } catch (error) {
    throw new ModelImportError(`${state.key} does not load in onnxruntime: ${firstLine(error)}`);
  }
  const { binding, preprocessor, schema } = bindOnnx(facts, manifest, state.key);
  const forward = await onnxForward(bytes, binding);
  try {
    // A probe of two instances of zeros: the output has the declared shape, finite values, and (for a
    // classifier whose manifest says probabilities) rows of probabilities.
    const probe = await forward.predict(new Float32Array(2 * preprocessor.width)).catch((error: unknown) => {
      throw new ModelImportError(`${state.key} fails on a probe input: ${firstLine(error)}`);
    });
    checkOutputs(probe, binding.output.kind, binding.output.name, state.key);

    const prefix = KEYS.modelPrefix(model, state.runId);
    let evaluation: EvaluationResult = { count: 0 };
    let evaluationKey: string | undefined;
    let evaluationHash: string | undefined;
    if (manifest.evaluation) {
      if (isImagePreprocessor(preprocessor)) {
        throw new ModelImportError(
          `${manifestKey}: an evaluation table is for a tabular model; evaluate an image model before uploading`,
        );
      }
      evaluationKey = manifest.evaluation.key;
      await updateRun(state.runId, { step: 'ImportModel: evaluating' });
      const tableBytes = await getBytes(state.bucket, evaluationKey, {
        maxBytes: MAX_EVALUATION_BYTES,
        tooLarge: (size) =>
          new ModelImportError(
            `evaluation table ${evaluationKey} is ${formatBytes(size)}, past ${formatBytes(MAX_EVALUATION_BYTES)}`,
          ),
      }).catch((error: unknown) => {
        throw new ModelImportError(
          `${manifestKey} names evaluation table ${evaluationKey}: ${firstLine(error)}`,
        );
      });
      evaluationHash = contentHash(tableBytes);
      const findings: Finding[] = [];
      const records: string[][] = [];
      for await (const record of streamRecords(bytesOf(tableBytes), 'csv', findings)) records.push(record);
      const error = findings.find((f) => f.severity === 'error');
      if (error) throw new ModelImportError(`evaluation table ${evaluationKey}: ${error.message}`);
      const table = evaluationTable(records, preprocessor, evaluationKey);
      const outputs: number[][] = [];
      const width = preprocessor.width;
      for (let i = 0; i < table.labels.length; i += BATCH) {
        const end = Math.min(table.labels.length, i + BATCH);
        outputs.push(...(await forward.predict(table.x.subarray(i * width, end * width))));
      }
      checkOutputs(outputs, binding.output.kind, binding.output.name, evaluationKey);
      if (preprocessor.task === 'regression') {
        const metrics = regressionMetrics(
          table.labels,
          outputs.map((row) => row[0] ?? 0),
        );
        await putJson(artifactsBucket, prefix + ARTIFACTS.metrics, { test: metrics });
        const { residuals: _residuals, ...figures } = metrics;
        evaluation = figures;
      } else {
        const metrics = classificationMetrics(
          table.labels,
          outputs.map(argmax),
          preprocessor.classes,
          outputs,
        );
        await putJson(artifactsBucket, prefix + ARTIFACTS.metrics, { test: metrics });
        evaluation = classificationFigures(metrics);
      }
      await putJson(artifactsBucket, prefix + ARTIFACTS.baseline, table.baseline);
    }

    await Promise.all([
      putBytes(artifactsBucket, prefix + ARTIFACTS.onnx, bytes, 'application/octet-stream'),
      putJson(artifactsBucket, prefix + ARTIFACTS.onnxBinding, binding),
      putJson(artifactsBucket, prefix + ARTIFACTS.preprocessor, preprocessor),
      putJson(artifactsBucket, prefix + ARTIFACTS.schema, schema),
    ]);
    const uploadedBy = head.metadata?.['uploaded-by'] ?? state.detail?.requester;
    const runtime = await onnxRuntimeVersion();
    const lineage: Lineage = {
      datasetName: evaluationKey ? (KEYS.parseDatasetKey(evaluationKey)?.dataset ?? model) : '',
      datasetVersion: evaluationHash?.slice(0, 16) ?? '',
      datasetHash: evaluationHash ?? '',
      datasetKey: evaluationKey ?? '',
      runId: state.runId,
      hyperparameters: {},
      backend: 'onnxruntime-node (cpu)',
      libraries: { 'onnxruntime-node': runtime },
      codeVersion: process.env.NIMBUS_CODE_VERSION ?? '0.1.0',
      external: {
        format: 'onnx',
        key: state.key,
        sha256,
        bytes: bytes.byteLength,
        irVersion: facts.irVersion,
        opsets: facts.opsets,
        ...(facts.producerName ? { producerName: facts.producerName } : {}),
        ...(facts.producerVersion ? { producerVersion: facts.producerVersion } : {}),
        ...(uploadedBy ? { uploadedBy: uploadedBy.slice(0, 200) } : {}),
      },
    };
    logger.info('model imported', {
      model,
      file,
      bytes: bytes.byteLength,
      producer: facts.producerName,
      operators: facts.operators.length,
      evaluated: evaluation.count > 0,
    });
    return {
      skip: false,
      model,
      modelPrefix: prefix,
      evaluated: evaluationKey !== undefined,
      evaluation,
      lineage,
      ...(manifest.gate ? { gate: manifest.gate } : {}),
    };
  } finally {
    forward.dispose();
  }
}

function checkOutputs(
  rows: readonly (readonly number[])[],
  kind: string,
  output: string,
  where: string,
): void {
  const bad = rows.findIndex((row) => row.some((v) => !Number.isFinite(v)));
  if (bad >= 0) {
    throw new ModelImportError(`${where}: output "${output}" of instance ${bad} is not a finite number`);
  }
  if (kind === 'probabilities') {
    const problem = notProbabilities(rows);
    if (problem) {
      throw new ModelImportError(
        `${where}: output "${output}" is not class probabilities (${problem}); if the model answers logits, say so in model.json: {"output": {"kind": "logits"}}`,
      );
    }
  }
}

function parseJson(bytes: Uint8Array, key: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ModelImportError(`${key} is not JSON: ${(error as Error).message}`);
  }
}

/** An error's first line, without a stack or native frames. */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error)
    .split('\n')[0]
    ?.slice(0, 500) as string;
}
