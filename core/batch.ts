/**
 * Batch prediction: a CSV of feature rows in, the same rows with their predictions out. A row that does not
 * fit the model's input contract gets an `error` cell naming the column, and the rest of the file goes on.
 */
import type { TypedRow } from './dataset.ts';
import { FLOAT32_MAX, type InputSchema, type Prediction } from './serving.ts';
import { looksLikeFormula } from './validation/checks/formula-cells.ts';

/** The output header: the input's columns, then the prediction's. */
export function outputHeader(inputHeader: readonly string[], schema: InputSchema): string[] {
  const answer =
    schema.task === 'regression'
      ? ['prediction']
      : ['prediction', ...schema.classes.map((c) => `probability_${c}`)];
  return [...inputHeader, ...answer, 'error'];
}

/** Checks the header: every feature must be a column (the label and other columns are carried along). */
export function checkHeader(header: readonly string[], schema: InputSchema): void {
  const missing = schema.features.map((f) => f.name).filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `the file has no column ${missing.map((m) => JSON.stringify(m)).join(', ')}; the model needs ${schema.features.map((f) => f.name).join(', ')}`,
    );
  }
}

/** One CSV record → typed row, or why it cannot be predicted. Empty cells are unknown values (imputed). */
export function batchRow(
  schema: InputSchema,
  header: readonly string[],
  cells: readonly string[],
): { row: TypedRow } | { error: string } {
  if (cells.length !== header.length) {
    return { error: `the row has ${cells.length} fields, the header has ${header.length}` };
  }
  const row: TypedRow = {};
  for (const feature of schema.features) {
    const raw = (cells[header.indexOf(feature.name)] ?? '').trim();
    if (raw === '') {
      // An imported model has no value for a missing cell (core/serving.ts InputFeature `nullable`).
      if (feature.type === 'numeric' && feature.nullable === false) {
        return { error: `${feature.name} is empty, and this model has no value for a missing one` };
      }
      row[feature.name] = null;
      continue;
    }
    if (feature.type === 'numeric') {
      const value = Number(raw);
      if (!Number.isFinite(value))
        return { error: `${feature.name}: ${JSON.stringify(raw)} is not a finite number` };
      if (Math.abs(value) > FLOAT32_MAX) {
        return {
          error: `${feature.name}: ${raw} is outside the range a model input holds (float32, ±3.4e38)`,
        };
      }
      row[feature.name] = value;
    } else {
      if (feature.unknown === 'error' && !feature.categories.includes(raw)) {
        return { error: `${feature.name}: ${JSON.stringify(raw)} is a category this model never saw` };
      }
      row[feature.name] = raw;
    }
  }
  return { row };
}

/**
 * A row's input cells as the output carries them: as many as the header has (a short row padded, a long one
 * cut: its error says how many it had), and a cell a spreadsheet would run as a formula (`=HYPERLINK(…)`,
 * `+cmd`, `@SUM(…)`) written as text, with a leading `'` — OWASP's CSV-injection advice.
 */
export function outputCells(header: readonly string[], cells: readonly string[]): string[] {
  return header.map((_, i) => {
    const cell = cells[i] ?? '';
    return looksLikeFormula(cell) ? `'${cell}` : cell;
  });
}

/** The prediction's cells, in `outputHeader`'s order. */
export function predictionCells(prediction: Prediction, schema: InputSchema): string[] {
  if ('value' in prediction) return [String(prediction.value)];
  return [prediction.label, ...schema.classes.map((c) => String(prediction.probabilities[c] ?? 0))];
}
