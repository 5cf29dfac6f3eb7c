/**
 * The evaluation of an imported model on a table of its features and the label column: the rows read as the
 * model's request contract reads instances (every feature a finite number), labels as its classes, and the
 * statistics of the rows as its drift baseline.
 */
import { type Baseline, baselineStatistics } from './baseline.ts';
import type { DatasetSchema, TypedRow } from './dataset.ts';
import { ModelImportError } from './errors.ts';
import type { Preprocessor } from './preprocessor.ts';

/** The most rows of an evaluation table. */
export const MAX_EVALUATION_ROWS = 200_000;

export interface EvaluationTable {
  /** Feature values, instance after instance, in the model's feature order. */
  readonly x: Float32Array;
  /** Class indexes (classification) or target values (regression). */
  readonly labels: readonly number[];
  readonly baseline: Baseline;
}

/** Records (the header first) → the model's inputs, labels and baseline; a bad table fails naming the row. */
export function evaluationTable(
  records: readonly (readonly string[])[],
  pre: Preprocessor,
  key: string,
): EvaluationTable {
  const [header, ...rows] = records;
  if (!header || rows.length === 0) throw new ModelImportError(`evaluation table ${key} has no rows`);
  if (rows.length > MAX_EVALUATION_ROWS) {
    throw new ModelImportError(
      `evaluation table ${key} has ${rows.length} rows, past ${MAX_EVALUATION_ROWS}`,
    );
  }
  const column = new Map(header.map((name, i) => [name, i]));
  const missing = [...pre.features.map((f) => f.name), pre.label].filter((name) => !column.has(name));
  if (missing.length > 0) {
    throw new ModelImportError(
      `evaluation table ${key} has no column ${missing.map((m) => `"${m}"`).join(', ')} (it has ${header.slice(0, 20).join(', ')})`,
    );
  }
  const width = pre.features.length;
  const x = new Float32Array(rows.length * width);
  const labels: number[] = [];
  const typed: TypedRow[] = [];
  const labelColumn = column.get(pre.label) as number;
  const classIndex = new Map(pre.classes.map((c, i) => [c, i]));
  rows.forEach((row, r) => {
    const line = r + 2;
    const out: TypedRow = {};
    pre.features.forEach((feature, j) => {
      const cell = row[column.get(feature.name) as number] ?? '';
      const value = Number(cell);
      if (cell.trim() === '' || !Number.isFinite(value)) {
        throw new ModelImportError(
          `evaluation table ${key}, line ${line}: "${feature.name}" is ${JSON.stringify(cell.slice(0, 40))}, not a number`,
        );
      }
      x[r * width + j] = value;
      out[feature.name] = value;
    });
    const label = row[labelColumn] ?? '';
    out[pre.label] = label;
    if (pre.task === 'regression') {
      const target = Number(label);
      if (label.trim() === '' || !Number.isFinite(target)) {
        throw new ModelImportError(
          `evaluation table ${key}, line ${line}: the target "${label}" is not a number`,
        );
      }
      labels.push(target);
    } else {
      const index = classIndex.get(label);
      if (index === undefined) {
        throw new ModelImportError(
          `evaluation table ${key}, line ${line}: label "${label.slice(0, 40)}" is not one of the model's labels (${pre.classes.slice(0, 10).join(', ')}); name them in model.json "labels", in output order`,
        );
      }
      labels.push(index);
    }
    typed.push(out);
  });
  const schema: DatasetSchema = {
    kind: 'tabular',
    task: pre.task === 'regression' ? 'regression' : 'classification',
    label: pre.label,
    features: pre.features.map((f) => ({ name: f.name, type: 'numeric' as const })),
    classes: pre.classes,
    rowCount: rows.length,
  };
  return { x, labels, baseline: baselineStatistics(schema, typed) };
}
