/**
 * The platform's declaration (core/declaration.ts) is whole and consistent: every function folder is declared
 * and every declared function has its folder; every function of the API answers routes under its resources,
 * every function started by a rule is a rule's target, and every rule's target exists.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  FUNCTIONS,
  functionList,
  gatewayResources,
  ROUTES,
  type RouteDeclaration,
  resourceOf,
  routesOf,
  ruleList,
} from '../../core/declaration.ts';
import { REPO_ROOT } from '../../core/repo.ts';

describe('the declaration', () => {
  it('declares every folder of functions/ that holds a handler, and nothing else', () => {
    const folders = readdirSync(join(REPO_ROOT, 'functions'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .filter((entry) => existsSync(join(REPO_ROOT, 'functions', entry.name, 'handler.ts')))
      .map((entry) => entry.name)
      .sort();
    assert.deepEqual(
      functionList()
        .map((fn) => fn.dir)
        .sort(),
      folders,
    );
  });

  it('routes every path to a resource of its own function, and gives each function of the API routes', () => {
    for (const [name, route] of Object.entries(ROUTES) as [string, RouteDeclaration][]) {
      const trigger = FUNCTIONS[route.function].trigger;
      assert.equal(trigger.kind, 'api', `${name}: ${route.function} is not a function of the API`);
      if (trigger.kind !== 'api') continue;
      assert.ok(
        resourceOf(route.path, trigger.resources),
        `${name}: ${route.path} is under none of its resources`,
      );
    }
    for (const fn of functionList()) {
      if (fn.trigger.kind === 'api') assert.ok(routesOf(fn.name).length > 0, `${fn.name} answers no route`);
    }
    // One authorization per method under each gateway resource (a proxy gives them all the same).
    assert.ok(gatewayResources().length > 0);
  });

  it('starts every rule-triggered function by a rule, and targets only those or the pipeline', () => {
    const targets = new Set(ruleList().map((rule) => rule.target));
    for (const rule of ruleList()) {
      if (rule.target === 'pipeline') continue;
      assert.equal(FUNCTIONS[rule.target].trigger.kind, 'rule', `${rule.name} targets ${rule.target}`);
    }
    for (const fn of functionList()) {
      if (fn.trigger.kind === 'rule') assert.ok(targets.has(fn.name), `no rule starts ${fn.name}`);
    }
  });

  it('names operation ids once and each method and path once', () => {
    const keys = Object.values(ROUTES).map((route) => `${route.method} ${route.path}`);
    assert.equal(new Set(keys).size, keys.length);
  });
});
