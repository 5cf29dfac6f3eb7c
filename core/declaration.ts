/**
 * The platform, declared once: every function (its folder, what starts it, what it may read and write, what
 * its bundle carries, its memory and time), every route of the HTTPS API (method, path, authorization, the
 * function that answers it) and every event rule (what it matches, its target). Plain data with types.
 *
 * infra/ builds the CDK resources by looping over these lists; local/ wires the emulators from them; the
 * handlers register exactly the routes declared for them; the OpenAPI document (core/openapi.ts) is made from
 * them; bench/ and the tests enumerate them. There is no other list of functions, routes or rules: adding a
 * function is one entry here plus its folder under `functions/`.
 */
export * from './declaration/functions.ts';
export * from './declaration/routes.ts';
export * from './declaration/rules.ts';
