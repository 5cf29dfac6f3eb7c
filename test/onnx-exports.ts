/**
 * A version's ONNX export as a client has it — the registry's 303, then the link with no key — and the file run
 * in onnxruntime-node as its contract says (core/onnx-export.ts): one `[N, 1]` input per feature, NaN and
 * `""` for an unknown value.
 */
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { API } from '../core/contract.ts';
import type { TypedRow } from '../core/dataset.ts';
import type { LocalEndpoints } from '../local/endpoints.ts';

/** The registry's answer to the export of a version: a 303 and its link, not followed. */
export function exportAnswer(endpoints: LocalEndpoints, model: string, version: number): Promise<Response> {
  return fetch(`${endpoints.api}/v1/registry/models/${model}/versions/${version}/model.onnx`, {
    headers: { [API.apiKeyHeader]: endpoints.apiKey },
    redirect: 'manual',
  });
}

/** The file of a version's export, through its link (fetched without the key). */
export async function downloadExport(
  endpoints: LocalEndpoints,
  model: string,
  version: number,
): Promise<Uint8Array> {
  const answer = await exportAnswer(endpoints, model, version);
  assert.equal(answer.status, 303, await answer.text());
  const file = await fetch(answer.headers.get('location') ?? '');
  assert.equal(file.status, 200);
  assert.match(
    file.headers.get('content-disposition') ?? '',
    new RegExp(`filename="${model}-v${version}.onnx"`),
  );
  return new Uint8Array(await file.arrayBuffer());
}

/** The file's inputs as its metadata lists them. */
export function exportedFeatures(bytes: Uint8Array): { name: string; type: 'numeric' | 'categorical' }[] {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const features = model.metadataProps?.find((p) => p.key === 'nimbus.features')?.value;
  assert.ok(features, 'the export lists its features');
  return JSON.parse(features);
}

/** Typed rows through an exported file: its outputs by name. */
export async function runExport(
  bytes: Uint8Array,
  rows: readonly TypedRow[],
  options: ort.InferenceSession.SessionOptions = {},
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4, ...options });
  const feeds: Record<string, ort.Tensor> = {};
  for (const feature of exportedFeatures(bytes)) {
    const values = rows.map((row) => row[feature.name]);
    feeds[feature.name] =
      feature.type === 'numeric'
        ? new ort.Tensor(
            'float64',
            Float64Array.from(values, (v) => (typeof v === 'number' ? v : Number.NaN)),
            [rows.length, 1],
          )
        : new ort.Tensor(
            'string',
            values.map((v) => (typeof v === 'string' ? v : '')),
            [rows.length, 1],
          );
  }
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** The file's classifier outputs against the predict API's answers for the same rows: within 1e-5, same labels. */
export function assertSameAsPredict(
  outputs: Record<string, ort.Tensor>,
  predictions: readonly { label: string; probabilities: Record<string, number> }[],
  classes: readonly string[],
): void {
  const probabilities = outputs.probabilities?.data as Float32Array;
  assert.equal(probabilities.length, predictions.length * classes.length);
  predictions.forEach((p, i) => {
    classes.forEach((c, j) => {
      const theirs = probabilities[i * classes.length + j] as number;
      assert.ok(Math.abs(theirs - (p.probabilities[c] as number)) < 1e-5, `row ${i} ${c}: ${theirs}`);
    });
  });
  assert.deepEqual(
    outputs.label?.data,
    predictions.map((p) => p.label),
  );
}
