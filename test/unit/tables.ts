/** What the unit tests of tables share: CSV bytes read as the platform reads them, and the iris example. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../core/repo.ts';
import { bytesOf } from '../../core/table-reader.ts';
import { readTable } from '../../core/validation/validate.ts';

/** A CSV's table, read as the platform reads it. */
export const parseCsv = (bytes: Uint8Array) => readTable(bytesOf(bytes));

export const csv = (text: string) => new TextEncoder().encode(text);
export const iris = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));
export const irisTable = await parseCsv(iris);

/** A file of test/fixtures/. */
export const fixture = (name: string) => readFileSync(join(REPO_ROOT, 'test', 'fixtures', name));
