/**
 * The API described in OpenAPI 3.1, made from the declared routes (declaration.ts ROUTES: paths, methods,
 * authorization, summaries, the types of bodies and answers) and the JSON Schemas of core/api-types.ts
 * (generated from the types by `npm run openapi`, which writes docs/openapi.json). Pure: the schemas come in.
 */
import type { OpenApiDocument } from './api-types.ts';
import { API } from './contract.ts';
import { ROUTES, type RouteAuth, type RouteDeclaration, type RouteName } from './declaration.ts';
import { ALIAS_PATTERN } from './model-registry.ts';
import { NAME_MAX_LENGTH, NAME_PATTERN, RUN_ID_PATTERN } from './names.ts';

type Schema = Readonly<Record<string, unknown>>;

/** What each path parameter is, wherever it appears. */
const PATH_PARAMETERS: Readonly<Record<string, { readonly description: string; readonly schema: Schema }>> = {
  model: {
    description: 'A model (named after its dataset)',
    schema: { type: 'string', pattern: NAME_PATTERN.source, maxLength: NAME_MAX_LENGTH },
  },
  name: {
    description: 'A dataset, or an artifact of a version (metrics, card, baseline, schema)',
    schema: { type: 'string', maxLength: 1024 },
  },
  version: {
    description: 'A model version (a positive integer) or a dataset version (a hash prefix)',
    schema: { type: 'string', pattern: '^[0-9a-f]{1,64}$' },
  },
  label: { description: 'An alias of the model', schema: { type: 'string', pattern: ALIAS_PATTERN.source } },
  alias: { description: 'An alias of the model', schema: { type: 'string', pattern: ALIAS_PATTERN.source } },
  runId: { description: 'A pipeline run', schema: { type: 'string', pattern: RUN_ID_PATTERN.source } },
  file: { description: "A file of the dashboard's page", schema: { type: 'string' } },
};

const SECURITY: Readonly<Record<RouteAuth, readonly Record<string, readonly string[]>[]>> = {
  apiKey: [{ apiKey: [] }],
  // Either is accepted where it applies: SigV4 in AWS, the admin key on the local platform.
  iam: [{ iam: [] }, { localAdminKey: [] }],
  none: [],
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('ErrorResponse') } },
});

/** The OpenAPI document of the declared routes, with the given schemas (by type name) as its components. */
export function openApiDocument(schemas: Readonly<Record<string, Schema>>, version: string): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(ROUTES) as RouteName[]) {
    const route: RouteDeclaration = ROUTES[name];
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: operation(name, route, schemas),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nimbus ML API',
      version,
      description:
        "Predictions on TF Serving's REST paths, the model and dataset registry, runs, monitoring, and the web " +
        'dashboard. In AWS the API is at the stage URL (`ApiUrl` output, stage `prod`); on one machine, at the ' +
        'URL `npm start` prints.',
    },
    servers: [
      {
        url: 'https://{api}.execute-api.{region}.amazonaws.com/prod',
        variables: { api: { default: 'api-id' }, region: { default: 'us-east-1' } },
      },
      { url: 'http://127.0.0.1:3080', description: 'The local platform (npm start)' },
    ],
    tags: [
      { name: 'predict', description: "TF Serving's REST API" },
      { name: 'registry', description: 'Models, versions, aliases, datasets and runs' },
      { name: 'monitoring', description: 'Alarms and drift' },
      { name: 'dashboard', description: 'The web dashboard and this document (no key)' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: API.apiKeyHeader, description: 'The API key' },
        iam: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 (IAM), the admin credential in AWS',
        },
        localAdminKey: {
          type: 'apiKey',
          in: 'header',
          name: API.adminKeyHeader,
          description: "The local platform's stand-in for IAM (`.nimbus/endpoints.json` adminKey)",
        },
      },
    },
  };
}

function operation(name: RouteName, route: RouteDeclaration, schemas: Readonly<Record<string, Schema>>) {
  const pathParameters = [...route.path.matchAll(/\{([A-Za-z]+)\}/g)].map(([, param = '']) => ({
    name: param,
    in: 'path',
    required: true,
    ...(PATH_PARAMETERS[param] ?? { schema: { type: 'string' } }),
  }));
  const queryParameters = Object.entries(route.query ?? {}).map(([param, description]) => ({
    name: param,
    in: 'query',
    required: false,
    description,
    schema: { type: 'string' },
  }));
  const parameters = [...pathParameters, ...queryParameters];
  return {
    operationId: name,
    summary: route.summary,
    tags: [route.function],
    security: SECURITY[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: known(route.body, schemas) } },
          },
        }
      : {}),
    responses: responses(route, schemas),
  };
}

function responses(route: RouteDeclaration, schemas: Readonly<Record<string, Schema>>) {
  if (route.response === 'redirect') {
    return {
      '301': {
        description: 'The page, at the URL with the slash',
        headers: { Location: { schema: { type: 'string' } } },
      },
    };
  }
  if (route.function === 'dashboard' && route.response !== 'OpenApiDocument') {
    const type = route.response === 'text/html' ? 'text/html' : '*/*';
    return {
      '200': { description: route.summary, content: { [type]: { schema: { type: 'string' } } } },
      '304': { description: 'Not modified (ETag)' },
      '404': errorAnswer('No such file'),
    };
  }
  return {
    ...(route.response === 'download'
      ? {
          '303': {
            description: `${route.summary}. The link needs no key: fetch it without one`,
            headers: { Location: { schema: { type: 'string', format: 'uri' } } },
          },
          '409': errorAnswer('The version cannot be had as this file (the error says why)'),
        }
      : {
          '200': {
            description: route.summary,
            content: { 'application/json': { schema: known(route.response, schemas) } },
          },
        }),
    ...(route.auth === 'none'
      ? {}
      : {
          '400': errorAnswer('The request is not valid (the field that is not, when one is)'),
          '403': errorAnswer('No key, or not the right one'),
          '404': errorAnswer('No such model, version, alias, dataset or run'),
        }),
    ...(route.method === 'POST'
      ? {
          '409': errorAnswer('The change conflicts with the state it meets'),
          '413': errorAnswer('The body is too large'),
        }
      : {}),
    ...(route.auth === 'none' ? {} : { '5XX': errorAnswer('The platform failed (the request id names it)') }),
  };
}

/** A reference to one of the schemas; a type the schemas lack is a mistake in the declaration. */
function known(name: string, schemas: Readonly<Record<string, Schema>>) {
  if (!Object.hasOwn(schemas, name)) throw new Error(`no schema "${name}" in core/api-types.ts`);
  return ref(name);
}
