import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseLabel, contentHash } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import { inferSchema } from '../../core/validation/validate.ts';
import { csv, iris, parseCsv } from './tables.ts';

async function rejects(text: string, pattern: RegExp) {
  await assert.rejects(
    async () => {
      const table = await await parseCsv(csv(text));
      inferSchema(table, chooseLabel(table.header));
    },
    (error: unknown) => error instanceof DatasetValidationError && pattern.test(error.message),
  );
}

describe('dataset validation', () => {
  it('reads iris: 150 rows, four numeric features, label "species" (the last column)', async () => {
    const table = await parseCsv(iris);
    const schema = inferSchema(table, chooseLabel(table.header));
    assert.equal(schema.rowCount, 150);
    assert.equal(schema.label, 'species');
    assert.deepEqual(schema.classes, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(
      schema.features.map((f) => f.type),
      ['numeric', 'numeric', 'numeric', 'numeric'],
    );
  });

  it('chooses the manifest label, else a column named label/target/class, else the last column', () => {
    assert.equal(chooseLabel(['a', 'b', 'c'], { label: 'b' }), 'b');
    assert.equal(chooseLabel(['Target', 'b', 'c']), 'Target');
    assert.equal(chooseLabel(['a', 'b', 'c']), 'c');
    assert.throws(() => chooseLabel(['a', 'b'], { label: 'z' }), /"z", which is not in the header/);
  });

  it('infers categorical columns and handles a BOM and CRLF line ends', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `${i},${i % 2 ? 'red' : 'blue'},${i % 3 ? 'y' : 'n'}`);
    const table = await parseCsv(csv(`\uFEFFsize,colour,label\r\n${rows.join('\r\n')}\r\n`));
    const schema = inferSchema(table, chooseLabel(table.header));
    assert.deepEqual(schema.features, [
      { name: 'size', type: 'numeric' },
      { name: 'colour', type: 'categorical' },
    ]);
  });

  it('reads a file whose lines end in CRLF, LF and CR mixed (edited on two systems)', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `${i},${i % 2 ? 'red' : 'blue'},${i % 3 ? 'y' : 'n'}`);
    const ends = ['\r\n', '\n', '\r'];
    const text = `size,colour,label\r\n${rows.map((r, i) => `${r}${ends[i % 3]}`).join('')}`;
    const table = await parseCsv(csv(text));
    assert.equal(table.rows.length, 12);
    assert.ok(table.rows.every((row) => row.length === 3));
  });

  it('rejects an empty file, a header without rows, and a header of numbers', async () => {
    await rejects('', /empty/);
    await rejects('a,b,c\n', /no data rows/);
    await rejects('1,2,3\n4,5,6\n', /looks like data, not a header/);
  });

  it('rejects rows with the wrong number of fields and names their line numbers', async () => {
    await rejects('a,b,label\n1,2,x\n1,2\n1,2,y,9\n', /row 3 has 2 fields.*row 4 has 4 fields/);
  });

  it('rejects duplicate and blank column names', async () => {
    await rejects('a,a,label\n1,2,x\n', /names column "a" twice/);
    await rejects('a,,label\n1,2,x\n', /header column 2 has no name/);
  });

  it('rejects binary or non-UTF-8 bytes', async () => {
    await assert.rejects(
      () => parseCsv(new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x00, 0x01])),
      /not UTF-8 text/,
    );
  });

  it('rejects a single class, too few rows, missing labels and an empty column', async () => {
    const rows = (n: number, f: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => f(i)).join('\n');
    await rejects(`x,label\n${rows(20, (i) => `${i},a`)}`, /1 distinct value/);
    await rejects(`x,label\n${rows(5, (i) => `${i},${i % 2}`)}`, /has 5 rows; at least 10/);
    await rejects(
      `x,label\n${rows(20, (i) => `${i},${i === 4 ? '' : i % 2}`)}`,
      /missing in 1 row\(s\): rows 6/,
    );
    await rejects(`x,y,label\n${rows(20, (i) => `${i},,${i % 2}`)}`, /column "y" has no values/);
    await rejects(`x,label\n${rows(20, (i) => `${i},${i === 0 ? 'rare' : i % 2}`)}`, /"rare" \(1 rows\)/);
  });

  it('hashes content, not names: the same bytes give the same version', () => {
    assert.equal(contentHash(csv('a,b\n1,2\n')), contentHash(csv('a,b\n1,2\n')));
    assert.notEqual(contentHash(csv('a,b\n1,2\n')), contentHash(csv('a,b\n1,3\n')));
  });
});
