/**
 * `nimbus predict`: builds TF Serving's request body from `--data` (JSON) or `--file` (CSV, JSON, JSON Lines,
 * or a PNG/JPEG for image models), typed by the model's SignatureDef (`…/metadata`) so that a CSV's float
 * columns are numbers and its string (categorical) ones strings.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { SignatureDef } from '../core/api-types.ts';
import { IMAGE_INPUT } from '../core/signature.ts';
import { CliError, EXIT } from './output.ts';

export type PredictBody = { instances: unknown[] } | { inputs: Record<string, unknown> };

/** `--data`: a whole body (`{"instances": …}` / `{"inputs": …}`), a list of instances, or one instance. */
export function bodyFromJson(text: string, source: string): PredictBody {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${source} is not JSON: ${(error as Error).message}`, EXIT.usage);
  }
  if (Array.isArray(value)) return { instances: value };
  if (typeof value === 'object' && value !== null) {
    if ('instances' in value || 'inputs' in value) return value as PredictBody;
    return { instances: [value] };
  }
  throw new CliError(`${source} must be a JSON object or a list of objects`, EXIT.usage);
}

/**
 * `--file`: `.csv` (a header row; columns the model does not take are left out), `.json`, `.jsonl` (one
 * instance a line), `.png`/`.jpg`/`.jpeg` (one image), or `-` for JSON on standard input. `signature` reads
 * the model's SignatureDef: it types a CSV's cells.
 */
export function bodyFromFile(
  file: string,
  signature: () => Promise<SignatureDef | undefined>,
): Promise<PredictBody> {
  const read = (encoding?: BufferEncoding) => {
    try {
      return readFileSync(file === '-' ? 0 : file, encoding);
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`, EXIT.notFound);
    }
  };
  const ext = extname(file).toLowerCase();
  if (ext === '.png' || ext === '.jpg' || ext === '.jpeg') {
    return Promise.resolve({ instances: [{ b64: (read() as Buffer).toString('base64') }] });
  }
  if (ext === '.jsonl') {
    const lines = (read('utf8') as string).split(/\r?\n/).filter((line) => line.trim() !== '');
    return Promise.resolve({
      instances: lines.map((line, i) => bodyFromJsonLine(line, `${file} line ${i + 1}`)),
    });
  }
  if (ext === '.csv') return csvBody(read('utf8') as string, file, signature);
  return Promise.resolve(bodyFromJson(read('utf8') as string, file === '-' ? 'standard input' : file));
}

function bodyFromJsonLine(line: string, source: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new CliError(`${source} is not JSON: ${(error as Error).message}`, EXIT.usage);
  }
}

async function csvBody(
  text: string,
  file: string,
  signature: () => Promise<SignatureDef | undefined>,
): Promise<PredictBody> {
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<
      string,
      string
    >[];
  } catch (error) {
    throw new CliError(`${file} is not a CSV with a header row: ${(error as Error).message}`, EXIT.usage);
  }
  const inputs = (await signature())?.inputs;
  if (inputs && IMAGE_INPUT in inputs) {
    throw new CliError(`the model takes images: pass a PNG or JPEG with --file`, EXIT.usage);
  }
  return { instances: rows.map((row) => typedInstance(row, inputs)) };
}

/** A CSV row as an instance: the signature's inputs, float ones as numbers (empty: null). */
export function typedInstance(
  row: Record<string, string>,
  inputs?: SignatureDef['inputs'],
): Record<string, unknown> {
  if (!inputs) {
    return Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, v === '' ? null : Number.isFinite(Number(v)) ? Number(v) : v]),
    );
  }
  const instance: Record<string, unknown> = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    if (!(name in row)) continue; // predict names the missing field
    const cell = row[name] ?? '';
    instance[name] =
      cell === '' ? null : tensor.dtype === 'DT_FLOAT' && Number.isFinite(Number(cell)) ? Number(cell) : cell;
  }
  return instance;
}
