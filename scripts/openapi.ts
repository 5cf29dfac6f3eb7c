/**
 * Writes docs/openapi.json: the API's OpenAPI 3.1 document, made from the declared routes
 * (core/declaration.ts) and JSON Schemas generated from the types of core/api-types.ts. Run it after changing
 * either (a test fails while the file is not current):
 *
 *   npm run openapi
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';
import type { OpenApiDocument } from '../core/api-types.ts';
import { openApiDocument } from '../core/openapi.ts';
import { REPO_ROOT } from '../core/repo.ts';

export const OPENAPI_FILE = join(REPO_ROOT, 'docs', 'openapi.json');

/** The document as the sources say it is now. */
export function generateOpenApi(): OpenApiDocument {
  const generator = createGenerator({
    path: join(REPO_ROOT, 'core', 'api-types.ts'),
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    type: '*',
    expose: 'export',
    topRef: true,
    jsDoc: 'extended',
    skipTypeCheck: true,
    additionalProperties: true,
    sortProps: true,
  });
  const { definitions = {} } = generator.createSchema('*');
  // JSON Schema's `#/definitions/X` are OpenAPI's `#/components/schemas/X`.
  const schemas = JSON.parse(
    JSON.stringify(definitions).replaceAll('"#/definitions/', '"#/components/schemas/'),
  ) as Record<string, Record<string, unknown>>;
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return openApiDocument(sorted(schemas), version);
}

/** The document as docs/openapi.json holds it. */
export function formatOpenApi(document: OpenApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

function sorted<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(OPENAPI_FILE, formatOpenApi(generateOpenApi()));
  console.log(`wrote ${OPENAPI_FILE.slice(REPO_ROOT.length + 1)}`);
}
