import type { DatasetSchema } from '../../dataset.ts';
import { error, type Finding } from '../finding.ts';

/** The largest schema (as JSON) a dataset version may have: column names and classes together. */
export const MAX_SCHEMA_BYTES = 128 * 1024;

/** `schema-too-large`: a schema over MAX_SCHEMA_BYTES as JSON (too big for the pipeline's state and registry). */
export function schemaTooLarge(schema: DatasetSchema): readonly Finding[] {
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes <= MAX_SCHEMA_BYTES) return [];
  return [
    error(
      'schema-too-large',
      `the table's schema (${schema.features.length} columns, ${schema.classes.length} classes) is ${Math.round(bytes / 1024)} KB as JSON; at most ${MAX_SCHEMA_BYTES / 1024} KB (fewer or shorter column names and classes)`,
    ),
  ];
}
