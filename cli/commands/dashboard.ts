/**
 * `nimbus dashboard`: the web dashboard on 127.0.0.1, its registry changes signed with your AWS credentials
 * (cli/dashboard-proxy.ts). The deployed API stays as it is — changes IAM-only — and nothing new is exposed:
 * the page's actions are the CLI's own, made for this terminal's user.
 */

import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { PortInUseError } from '../../local/listen.ts';
import { type SignedRequest, signRequest } from '../api.ts';
import { action } from '../context.ts';
import type { DashboardProxy } from '../dashboard-proxy.ts';
import { CliError, EXIT } from '../output.ts';
import { apiKeyOf, awsError, type Target } from '../target.ts';

export const DEFAULT_DASHBOARD_PORT = 8765;

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is 0-65535 (0: any free)');
  return n;
};

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description(
      "serve the web dashboard on 127.0.0.1, its actions (approve, promote, stop…) signed with this CLI's credentials",
    )
    .option('--port <port>', 'the port on 127.0.0.1 (0: any free one)', port, DEFAULT_DASHBOARD_PORT)
    .action(
      action(async (ctx, options: { port: number }) => {
        const target = await ctx.target();
        const signer = await signerOf(target);
        let key: Promise<string> | undefined;
        // Loaded by this command only: the routes' declaration is not every command's to read at start.
        const { startDashboardProxy } = await import('../dashboard-proxy.ts');
        let proxy: DashboardProxy;
        try {
          proxy = await startDashboardProxy({
            api: target.api,
            port: options.port,
            apiKey: () => {
              key ??= apiKeyOf(target);
              return key;
            },
            sign: signer.sign,
          });
        } catch (error) {
          if (!(error instanceof PortInUseError)) throw error;
          throw new CliError(
            error.message,
            EXIT.failed,
            'is another `nimbus dashboard` running? Choose another port with --port <port> (0: any free one)',
          );
        }
        ctx.render({ url: proxy.dashboardUrl, api: target.api, signedWith: signer.identity }, (v) => [
          `Dashboard of ${target.source}: ${v.url}`,
          `Reads use the API key; actions are signed with ${v.signedWith}.`,
          'Open the address above in a browser on this machine (only that page can use this proxy). Ctrl+C stops it.',
        ]);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await proxy.stop();
      }),
    );
}

/**
 * How the proxy signs an IAM route's request, and whose credentials those are (for the line it prints): the
 * local platform's own credentials, which its gateway checks as IAM would; a stack's, the AWS SDK's default
 * credential chain, resolved now so that a missing credential is said before the page opens.
 */
export async function signerOf(target: Target): Promise<{
  readonly sign: (request: SignedRequest) => Promise<Record<string, string>>;
  readonly identity: string;
}> {
  if (target.local) {
    const credentials = {
      accessKeyId: target.local.accessKeyId,
      secretAccessKey: target.local.secretAccessKey,
    };
    return {
      sign: (request) => signRequest(request, target.region, credentials),
      identity: `the local platform's credentials (${credentials.accessKeyId}, ${target.region})`,
    };
  }
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  // Memoized by the SDK: refreshed when they expire, not read again for every request.
  const provider = defaultProvider();
  let resolved: Awaited<ReturnType<typeof provider>>;
  try {
    resolved = await provider();
  } catch (error) {
    throw awsError(error, "no AWS credentials to sign the dashboard's actions with");
  }
  const source = process.env.AWS_PROFILE
    ? `profile ${process.env.AWS_PROFILE}`
    : process.env.AWS_ACCESS_KEY_ID
      ? 'the environment (AWS_ACCESS_KEY_ID)'
      : 'the default AWS credential chain';
  const account = resolved.accountId ? `, account ${resolved.accountId}` : '';
  const masked = `${resolved.accessKeyId.slice(0, 4)}…${resolved.accessKeyId.slice(-4)}`;
  return {
    sign: async (request) => {
      try {
        return await signRequest(request, target.region, provider);
      } catch (error) {
        throw awsError(error, 'cannot sign the request with your AWS credentials');
      }
    },
    identity: `your AWS credentials: ${source} (access key ${masked}${account}; SigV4 for execute-api in ${target.region})`,
  };
}
