/**
 * Training/serving skew: the same raw rows (and images) through the training path and the serving path must
 * give identical model inputs, value for value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, parseImagePredictRequest, requestImagesToInput } from '../../core/image.ts';
import { splitData } from '../../core/model-data.ts';
import { imageInput, imageSize, transformRow } from '../../core/preprocessor.ts';
import { inputSchema, parsePredictRequest } from '../../core/serving.ts';
import { preprocessStream } from '../../core/stream-preprocess.ts';
import { bytesOf } from '../../core/table-reader.ts';
import { validateStream } from '../../core/validation/validate.ts';

/** A table with what real files have: missing cells, stray text in a numeric column, an id to ignore. */
function messyCsv(): string {
  const lines = ['id;size;weight;colour;label'];
  for (let i = 0; i < 60; i++) {
    const size = i % 11 === 0 ? '' : i % 17 === 0 ? 'n/a?' : `${(i * 37) % 23}.5`;
    const weight = i % 13 === 0 ? 'NA' : String(100 + ((i * 7) % 31));
    const colour = i % 9 === 0 ? '' : ['red', 'green', 'blue'][i % 3];
    lines.push(`${1000 + i};${size};${weight};${colour};${i % 3 === 0 ? 'a' : 'b'}`);
  }
  return lines.join('\r\n');
}

describe('training and serving compute the same features', () => {
  for (const preprocessing of [
    {},
    { impute: 'median', scale: 'robust', clip: 'iqr' },
    { impute: 'most-frequent', scale: 'minmax', clip: 'percentile' },
  ] as const) {
    it(`for rows: the preprocessing of a training split (streamed into shards) equals predict on the same rows sent as JSON ${JSON.stringify(preprocessing)}`, async () => {
      const bytes = new TextEncoder().encode(messyCsv());
      const { schema, report } = await validateStream(bytesOf(bytes), 'csv', {
        ignore: ['id'],
        preprocessing,
      });
      assert.ok(schema, JSON.stringify(report.findings));
      assert.ok(report.findings.some((f) => f.code === 'non-numeric-values'));

      // Training: the Preprocess step's own streaming passes; the test split's features, from its shards.
      const shards = new Map<string, Uint8Array>();
      const result = await preprocessStream({
        open: () => bytesOf(bytes),
        format: 'csv',
        schema,
        manifest: { ignore: ['id'], preprocessing },
        splitKeys: { train: 'train.json', validation: 'validation.json', test: 'test.json' },
        put: async (key, shard) => {
          shards.set(key, shard);
        },
        shardRows: 5,
      });
      const pre = result.preprocessor;
      const test = await splitData(result.splits.test, async (key) => shards.get(key) as Uint8Array);
      assert.ok(result.splits.test.shards.length > 1, 'the test split spans several shards');
      const trainingPath = test.x;

      // Serving: a client sends the held-out rows' values as JSON — numbers, null for unknown, text.
      const instances = result.testRows.map((row) => ({
        size: row.size,
        weight: row.weight,
        colour: row.colour,
      }));
      const body = JSON.stringify({ instances });
      const servingPath = Float32Array.from(
        (await parsePredictRequest(body, inputSchema(schema, pre))).flatMap((row) => transformRow(pre, row)),
      );

      assert.equal(servingPath.length, trainingPath.length);
      assert.deepEqual(servingPath, trainingPath);
    });
  }

  it('for images: preprocessing a PNG equals predict on the same PNG sent as b64, at any input size', async () => {
    const spec = { width: 12, height: 10, channels: 3 } as const;
    const images = await Promise.all(
      [
        [40, 30],
        [12, 10],
        [7, 9],
      ].map(([w, h]) =>
        sharp(
          Buffer.from(Array.from({ length: (w as number) * (h as number) * 4 }, (_, i) => (i * 37) % 256)),
          {
            raw: { width: w as number, height: h as number, channels: 4 },
          },
        )
          .png()
          .toBuffer(),
      ),
    );
    const size = imageSize(spec);
    const trainingPath = new Float32Array(images.length * size);
    for (const [i, png] of images.entries()) imageInput(await decodeImage(png, spec), trainingPath, i * size);
    const body = JSON.stringify({ instances: images.map((png) => ({ b64: png.toString('base64') })) });
    const servingPath = await requestImagesToInput(await parseImagePredictRequest(body, 10), spec);
    assert.deepEqual(servingPath, trainingPath);
  });
});
