/**
 * Batch prediction: an EventBridge "Object Created" event for `batch/<model>/<name>.csv` in the datasets
 * bucket. The CSV is streamed, predicted 1,000 rows at a time by the version that holds the model's
 * `production` alias, and streamed out as `batch/<model>/<name>.predictions.csv` in the artifacts bucket: the
 * input's columns, the prediction (label and class probabilities, or the value) and an `error` cell for a
 * row that does not fit the model (the rest of the file goes on). A `.summary.json` next to it says which
 * version answered, how many rows, how many failed, and why a whole file could not be predicted.
 * Input: ObjectCreatedEvent. Output: BatchSummary.
 */
import { once } from 'node:events';
import { Upload } from '@aws-sdk/lib-storage';
import { stringify } from 'csv-stringify';
import { s3Client } from '../../aws/clients.ts';
import { bucketName } from '../../aws/config.ts';
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { currentAlias, getModelVersion } from '../../aws/model-registry.ts';
import { getStream, putJson } from '../../aws/object-store.ts';
import { loadServable, useBundledTfjs } from '../../aws/servables.ts';
import * as tfjsModels from '../../aws/tfjs-models.ts';
import { batchRow, checkHeader, outputCells, outputHeader, predictionCells } from '../../core/batch.ts';
import { METRICS, PRODUCTION_ALIAS } from '../../core/contract.ts';
import type { TypedRow } from '../../core/dataset.ts';
import type { ObjectCreatedEvent } from '../../core/events.ts';
import { KEYS } from '../../core/keys.ts';
import { flatten } from '../../core/model-data.ts';
import { nameProblem } from '../../core/names.ts';
import { isImagePreprocessor, transformRow } from '../../core/preprocessor.ts';
import { type InputSchema, toPredictions, toValuePredictions } from '../../core/serving.ts';
import { streamRecords } from '../../core/table-reader.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('batch-predict');
const metrics = createMetrics();
const artifactsBucket = bucketName('artifacts');
// tfjs is in this bundle already (training data is read with it): no second copy for a CNN.
useBundledTfjs(tfjsModels);
const CHUNK = 1000;

export interface BatchSummary {
  readonly model: string;
  readonly input: string;
  readonly output?: string;
  readonly version?: number;
  readonly rows: number;
  readonly failed: number;
  readonly seconds: number;
  readonly error?: string;
  readonly finishedAt: string;
}

export async function handler(event: ObjectCreatedEvent): Promise<BatchSummary> {
  const started = performance.now();
  const bucket = event.detail.bucket.name;
  const key = event.detail.object.key;
  const target = KEYS.parseBatchKey(key);
  if (!target) throw new Error(`${key} is not a batch input (batch/<model>/<name>.csv)`);
  const input = `s3://${bucket}/${key}`;
  const outputKey = KEYS.batchOutput(target.model, target.name);
  const summarize = async (fields: Partial<BatchSummary>): Promise<BatchSummary> => {
    const summary: BatchSummary = {
      model: target.model,
      input,
      rows: 0,
      failed: 0,
      ...fields,
      seconds: Math.round(performance.now() - started) / 1000,
      finishedAt: new Date().toISOString(),
    };
    await putJson(artifactsBucket, KEYS.batchSummary(target.model, target.name), summary);
    // Per model only for a model that answered: a made-up name in a key is no metric dimension.
    publishModelMetrics(metrics, summary.version === undefined ? undefined : target.model, [
      [METRICS.batchRows, MetricUnit.Count, summary.rows],
      [METRICS.batchRowErrors, MetricUnit.Count, summary.failed],
    ]);
    logger.info('batch prediction finished', { ...summary });
    return summary;
  };

  const problem = nameProblem('model', target.model);
  if (problem) return summarize({ error: problem });
  const alias = await currentAlias(target.model, PRODUCTION_ALIAS);
  const version = alias ? await getModelVersion(target.model, alias.state.version) : undefined;
  if (!version) return summarize({ error: `model "${target.model}" has no version in ${PRODUCTION_ALIAS}` });
  const servable = await loadServable(artifactsBucket, version.artifactPrefix);
  const pre = servable.preprocessor;
  if (isImagePreprocessor(pre)) {
    return summarize({ version: version.version, error: 'batch prediction takes tabular models only' });
  }
  const schema = servable.schema as InputSchema;

  const csv = stringify();
  const upload = new Upload({
    client: s3Client(),
    params: { Bucket: artifactsBucket, Key: outputKey, Body: csv, ContentType: 'text/csv' },
  });
  const uploaded = upload.done();
  uploaded.catch(() => undefined);
  const write = async (record: string[]) => {
    if (!csv.write(record)) await once(csv, 'drain');
  };

  let header: string[] | undefined;
  let rows = 0;
  let failed = 0;
  let pending: { cells: string[]; row?: TypedRow; error?: string }[] = [];
  const flush = async () => {
    const valid = pending.filter((p) => p.row);
    const outputs =
      valid.length > 0
        ? await servable.model.predict(flatten(valid.map((p) => transformRow(pre, p.row as TypedRow))))
        : [];
    const predictions =
      pre.task === 'regression' ? toValuePredictions(pre, outputs) : toPredictions(pre.classes, outputs);
    const width = outputHeader([], schema).length - 1;
    const blank = Array.from({ length: width }, () => '');
    let next = 0;
    for (const item of pending) {
      let answer = [...blank, item.error ?? ''];
      if (item.row) {
        const i = next++;
        if ((outputs[i] ?? []).every(Number.isFinite)) {
          answer = [...predictionCells(predictions[i] as (typeof predictions)[number], schema), ''];
        } else {
          failed++;
          answer = [...blank, 'the values overflow the model (far outside the data it was trained on)'];
        }
      }
      await write([...outputCells(header as string[], item.cells), ...answer]);
    }
    pending = [];
  };
  try {
    for await (const record of streamRecords(getStream(bucket, key), 'csv', [])) {
      if (!header) {
        header = record.map((name) => name.trim());
        checkHeader(header, schema);
        await write(outputHeader(header, schema));
        continue;
      }
      rows++;
      const parsed = batchRow(schema, header, record);
      if ('error' in parsed) failed++;
      pending.push({ cells: record, ...parsed });
      if (pending.length >= CHUNK) await flush();
    }
    if (!header) throw new Error('the file is empty');
    await flush();
    csv.end();
    await uploaded;
  } catch (error) {
    csv.destroy();
    await upload.abort().catch(() => undefined);
    return summarize({ version: version.version, rows, failed, error: (error as Error).message });
  }
  return summarize({
    version: version.version,
    output: `s3://${artifactsBucket}/${outputKey}`,
    rows,
    failed,
  });
}
