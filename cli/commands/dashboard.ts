/** `nimbus dashboard`: the target's web dashboard on this machine, its actions made with your rights. */
import { type Command, InvalidArgumentError } from 'commander';
import { action, positiveInt } from '../context.ts';
import { startDashboardProxy } from '../dashboard-proxy.ts';
import { CliError, EXIT } from '../output.ts';

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description(
      'open the dashboard through a proxy on 127.0.0.1 that signs its actions (approve, promote, stop…) with your AWS credentials (a stack) or the admin key (local)',
    )
    .option('--port <port>', 'the port on 127.0.0.1 (0: any free one)', positiveIntOrZero, 8765)
    .action(
      action(async (ctx, options: { port: number }) => {
        const target = await ctx.target();
        let proxy: Awaited<ReturnType<typeof startDashboardProxy>>;
        try {
          proxy = await startDashboardProxy(target, { port: options.port });
        } catch (error) {
          if ((error as Error).name === 'PortInUseError') {
            throw new CliError((error as Error).message, EXIT.usage, 'choose another with --port <port>');
          }
          throw error;
        }
        const signer =
          target.kind === 'local'
            ? `the admin key of ${target.source}`
            : 'your AWS credentials (the default chain: environment, profile, SSO, instance role), as SigV4';
        ctx.render({ url: proxy.url, port: proxy.port, target: target.source }, () => [
          `Dashboard of ${target.source}: ${proxy.url}`,
          `Reads use the API key; actions are made with ${signer}. The link holds this session's token: keep it to yourself.`,
          'Ctrl+C stops it.',
        ]);
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void proxy.stop().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}

function positiveIntOrZero(value: string): number {
  const port = value === '0' ? 0 : positiveInt('--port')(value);
  if (port > 65_535) throw new InvalidArgumentError('--port is 0-65535 (0: any free)');
  return port;
}
