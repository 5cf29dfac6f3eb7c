/** `nimbus keys`: API keys scoped to models — create one for a team's models, list them, revoke one. */
import { type Command, Option } from 'commander';
import type { ApiKeyList, CreatedApiKey, RevokedApiKey } from '../../core/api-types.ts';
import { registryPath } from '../api.ts';
import { action, required } from '../context.ts';
import { CliError, EXIT, table, time } from '../output.ts';

const KEYS_HINT = 'nimbus keys list shows the keys';
const reasonOption = () =>
  required(new Option('--reason <text>', 'why: kept with the key, with who and when'));

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys scoped to models (admin)');

  keys
    .command('create')
    .description('a key that opens only the models named (its value is shown once)')
    .requiredOption('--models <names>', 'the models it opens, comma-separated, or "*" for all')
    .requiredOption('--name <name>', 'what the key is for, e.g. team-a')
    .addOption(reasonOption())
    .action(
      action(async (ctx, options: { models: string; name: string; reason: string }) => {
        const created = await (await ctx.api()).post<CreatedApiKey>(registryPath('keys'), {
          name: options.name,
          models: options.models.split(',').map((m) => m.trim()),
          reason: options.reason,
        });
        ctx.render(created, (c) => [
          `key ${c.key.id} (${c.key.name}) opens ${c.key.models.join(', ')}`,
          `value: ${c.value}`,
          'keep the value now: it is not shown again (send it as the x-api-key header)',
        ]);
      }),
    );

  keys
    .command('list')
    .description('the keys the registry created, with their scopes (never their values)')
    .action(
      action(async (ctx) => {
        const { keys: list } = await (await ctx.api()).get<ApiKeyList>(registryPath('keys'), {
          auth: 'admin',
        });
        ctx.render({ keys: list }, () =>
          list.length === 0
            ? ['no scoped keys yet: nimbus keys create --name <team> --models <model,…> --reason <why>']
            : table(list, [
                { header: 'KEY', value: (k) => k.id },
                { header: 'NAME', value: (k) => k.name },
                { header: 'MODELS', value: (k) => k.models.join(',') },
                { header: 'CREATED', value: (k) => time(k.createdAt) },
                { header: 'BY', value: (k) => k.createdBy },
                { header: 'REVOKED', value: (k) => (k.revokedAt ? time(k.revokedAt) : undefined) },
              ]),
        );
      }),
    );

  keys
    .command('revoke')
    .description('refuse a key from now on (within a second) and delete it from the usage plan')
    .argument('<keyId>', 'the key (nimbus keys list)')
    .addOption(reasonOption())
    .action(
      action(async (ctx, keyId: string, options: { reason: string }) => {
        if (keyId.trim() === '')
          throw new CliError('give the id of the key to revoke', EXIT.usage, KEYS_HINT);
        const { key } = await (await ctx.api()).post<RevokedApiKey>(
          registryPath('keys', keyId, 'revoke'),
          { reason: options.reason },
          { notFoundHint: KEYS_HINT },
        );
        ctx.render({ key }, (k) => [
          `key ${k.key.id} (${k.key.name}) revoked ${time(k.key.revokedAt ?? '')}`,
        ]);
      }),
    );
}
