import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLabel, typedRow } from '../../core/dataset.ts';
import { InvalidRequestError } from '../../core/errors.ts';
import { fitPreprocessor } from '../../core/preprocessor.ts';
import { inputSchema, parsePredictBody, parsePredictRequest, toPredictions } from '../../core/serving.ts';
import { inferSchema } from '../../core/validation/validate.ts';
import { irisTable } from './tables.ts';

describe('predict requests', () => {
  it('refuses a category the model never saw when the rule says so, and accepts it when the rule is zeros', async () => {
    const schema = (unknown: 'error' | 'zeros') => ({
      kind: 'tabular' as const,
      task: 'classification' as const,
      label: 'y',
      classes: ['a', 'b'],
      features: [{ name: 'colour', type: 'categorical' as const, categories: ['blue', 'red'], unknown }],
    });
    const body = JSON.stringify({ instances: [{ colour: 'red' }, { colour: 'green' }] });
    await assert.rejects(
      () => parsePredictRequest(body, schema('error')),
      (error: InvalidRequestError) =>
        /instances\[1\]\.colour is the string "green", a category this model never saw \(it knows "blue", "red"\)/.test(
          error.message,
        ) &&
        error.field === 'colour' &&
        error.instance === 1,
    );
    assert.equal((await parsePredictRequest(body, schema('zeros')))[1]?.colour, 'green');
    const nan = '{"instances": [{"colour": NaN}], "note": "NaN in a string stays text"}';
    await assert.rejects(() => parsePredictRequest(nan, schema('zeros')), /colour must be a string, got NaN/);
  });

  const table = irisTable;
  const schema = inferSchema(table, chooseLabel(table.header));
  const pre = fitPreprocessor(
    schema,
    table.rows.map((row) => typedRow(schema, table.header, row)),
  );
  const input = inputSchema(schema, pre);
  const good = { sepal_length: 5, sepal_width: 3, petal_length: 1.5, petal_width: 0.2 };
  const invalid = (body: string, pattern: RegExp, field?: string, instance?: number) =>
    assert.rejects(
      () => parsePredictRequest(body, input),
      (error: unknown) =>
        error instanceof InvalidRequestError &&
        pattern.test(error.message) &&
        error.field === field &&
        error.instance === instance,
    );

  it('accepts the row format and ignores the label column', async () => {
    const rows = await parsePredictRequest(
      JSON.stringify({ instances: [good, { ...good, species: 'setosa' }] }),
      input,
    );
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[1], good);
  });

  it("takes TF Serving's tensor-style rows in the schema's feature order, and says the order when one is short", async () => {
    const order = input.features.map((feature) => feature.name);
    assert.deepEqual(order, ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    const rows = await parsePredictRequest(JSON.stringify({ instances: [[5, 3, 1.5, 0.2], good] }), input);
    assert.deepEqual(rows, [good, good]);
    const columns = await parsePredictRequest(JSON.stringify({ inputs: [[5, 3, 1.5, 0.2]] }), input);
    assert.deepEqual(columns, [good]);
    await invalid(
      JSON.stringify({ instances: [good, [5, 3, 1.5]] }),
      /instances\[1\] has 3 values; a row as a list has one per feature, in this order: sepal_length, sepal_width, petal_length, petal_width/,
      'instances',
      1,
    );
  });

  it("reads Classify's and Regress's examples, each with the context's features it does not set", async () => {
    const { sepal_width, ...own } = good;
    const { rows } = await parsePredictBody(
      JSON.stringify({ context: { sepal_width }, examples: [own, { ...own, sepal_width: 9 }] }),
      input,
      'examples',
    );
    assert.deepEqual(rows, [good, { ...good, sepal_width: 9 }]);
    const examples = (body: unknown) => parsePredictBody(JSON.stringify(body), input, 'examples');
    await assert.rejects(examples({ instances: [good] }), /an "examples" array/);
    await assert.rejects(examples({ examples: [good], context: [1] }), /"context" must be an object/);
    await assert.rejects(examples({ examples: [[5, 3, 1.5, 0.2]] }), /examples\[0\] must be an object/);
    await assert.rejects(examples({ examples: Array.from({ length: 1001 }, () => good) }), /at most 1000/);
  });

  it('serves the signature serving_default and names any other as a 400', async () => {
    const rows = await parsePredictRequest(
      JSON.stringify({ signature_name: 'serving_default', instances: [good] }),
      input,
    );
    assert.deepEqual(rows, [good]);
    await invalid(
      JSON.stringify({ signature_name: 'foo', instances: [good] }),
      /the model has no signature "foo": its one signature is "serving_default"/,
      'signature_name',
    );
    await invalid(
      JSON.stringify({ signature_name: 7, inputs: { sepal_length: [5] } }),
      /"signature_name" must be a string/,
      'signature_name',
    );
  });

  it('names the instance and field of a bad value', async () => {
    await invalid('{', /not valid JSON/);
    await invalid('[]', /object with an "instances" array/, 'instances');
    await invalid('{"instances":[]}', /non-empty array/, 'instances');
    await invalid(
      JSON.stringify({ instances: [good, { ...good, petal_width: undefined }] }),
      /instances\[1\]\.petal_width is missing/,
      'petal_width',
      1,
    );
    await invalid(
      JSON.stringify({ instances: [{ ...good, sepal_length: '5' }] }),
      /must be a finite number, got the string "5"/,
      'sepal_length',
      0,
    );
    await invalid(
      JSON.stringify({ instances: [{ ...good, colour: 'red' }] }),
      /instances\[0\]\.colour is not a feature/,
      'colour',
      0,
    );
    await invalid(JSON.stringify({ instances: [7] }), /instances\[0\] must be an object/, undefined, 0);
  });

  it('lists every wrong field of a request in one 400 (up to 20, then a count), not only the first', async () => {
    const refusal = async (body: object) => {
      const error = await parsePredictRequest(JSON.stringify(body), input).then(
        () => assert.fail('accepted'),
        (e: unknown) => e as InvalidRequestError,
      );
      assert.ok(error instanceof InvalidRequestError);
      return error;
    };
    const few = await refusal({ instances: [{ sepal_length: 'long', petal_width: 1.8, colour: 'red' }] });
    assert.match(few.message, /^4 problems: /);
    for (const pattern of [
      /instances\[0\]\.colour is not a feature/,
      /instances\[0\]\.sepal_length must be a finite number/,
      /instances\[0\]\.sepal_width is missing/,
      /instances\[0\]\.petal_length is missing/,
    ]) {
      assert.match(few.message, pattern);
    }
    assert.deepEqual(
      few.problems?.map((p) => p.field),
      ['colour', 'sepal_length', 'sepal_width', 'petal_length'],
    );
    const many = await refusal({ instances: Array.from({ length: 30 }, () => ({})) });
    assert.equal(many.problems?.length, 20);
    assert.match(many.message, /^120 problems: .*; and 100 more$/);
  });

  it('answers the most probable label with every class probability', () => {
    assert.deepEqual(toPredictions(['a', 'b'], [[0.2, 0.8]]), [
      { label: 'b', probabilities: { a: 0.2, b: 0.8 } },
    ]);
  });
});
