/**
 * The platform's HTTP API as `nimbus` calls it: reads and predictions with the API key; registry changes with
 * the admin credential — the `x-nimbus-admin-key` header locally, a SigV4 signature (service `execute-api`,
 * the default AWS credential chain) against a stack, as API Gateway's IAM authorization wants. Answers that
 * are not 2xx become a CliError with the exit code that says why.
 */
import type { SignatureV4 } from '@smithy/signature-v4';
import { API } from '../core/contract.ts';
import { CliError, EXIT, type ExitCode } from './output.ts';
import { apiKeyOf, awsError, isNetworkError, START_HINT, type Target } from './target.ts';

/** One API call's limit: API Gateway itself gives up on an integration after 29 s. */
const REQUEST_TIMEOUT_MS = 30_000;

/** How a request is authorized: the API key (reads, predict) or the admin credential (registry changes). */
export type Authorization = 'apiKey' | 'admin';

export interface RequestInit {
  readonly auth?: Authorization;
  /** The hint of a 404 ("`nimbus models list` shows the models"). */
  readonly notFoundHint?: string;
}

export interface SignedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/**
 * Signs a request for API Gateway's IAM authorization (SigV4, service `execute-api`). Credentials default to
 * the AWS SDK's chain (environment, profile, SSO, instance role).
 */
export async function signRequest(
  request: SignedRequest,
  region: string,
  credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'],
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  // Loaded when a request is signed (a deployed stack's admin call), not for every command.
  const [{ SignatureV4: Signer }, { Sha256 }, { defaultProvider }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('../aws/signing.ts'),
    import('@aws-sdk/credential-provider-node'),
  ]);
  const signer = new Signer({
    service: 'execute-api',
    region,
    credentials: credentials ?? defaultProvider(),
    sha256: Sha256,
  });
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query,
    headers: { ...request.headers, host: url.host },
    body: request.body,
  });
  // fetch sets Host from the URL itself.
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

/** An answer that was not 2xx, with its status (5xx answers are worth another try). */
export class HttpError extends CliError {
  constructor(
    message: string,
    exitCode: ExitCode,
    readonly status: number,
    hint?: string,
  ) {
    super(message, exitCode, hint);
  }
}

export class ApiClient {
  private key?: Promise<string>;

  constructor(readonly target: Target) {}

  /** A GET with the API key; the answer's JSON. */
  get<T>(path: string, init: RequestInit = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, { auth: 'apiKey', ...init });
  }

  /** A POST of JSON: with the admin credential by default (registry changes), or the API key (predict). */
  post<T>(path: string, body: unknown, init: RequestInit = {}): Promise<T> {
    return this.request<T>('POST', path, JSON.stringify(body), { auth: 'admin', ...init });
  }

  /**
   * A GET with the API key that the platform answers with a 303 to a short-lived link (a download): the
   * link, to fetch without the key (it goes to S3, which needs none and should not see it).
   */
  async downloadLink(path: string, init: RequestInit = {}): Promise<string> {
    const response = await this.send('GET', path, undefined, { auth: 'apiKey', ...init }, 'manual');
    const location = response.headers.get('location');
    if (response.status === 303 && location) {
      await response.body?.cancel();
      return new URL(location, this.target.api).toString();
    }
    const text = await response.text();
    const json = jsonOf(text);
    if (response.ok) {
      throw new CliError(
        `${this.target.api} answered GET ${path} with HTTP ${response.status}, not a link to the file`,
        EXIT.unreachable,
        'the platform is older than this CLI: restart it (`nimbus local up`) or redeploy the stack',
      );
    }
    throw this.refusal('GET', path, response.status, json, text, init);
  }

  private async send(
    method: string,
    path: string,
    body: string | undefined,
    init: RequestInit,
    redirect: 'follow' | 'manual' = 'follow',
  ): Promise<Response> {
    const url = `${this.target.api}${path}`;
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (init.auth === 'admin') {
      Object.assign(headers, await this.adminHeaders({ url, method, headers, ...(body ? { body } : {}) }));
    } else {
      this.key ??= apiKeyOf(this.target);
      headers[API.apiKeyHeader] = await this.key;
    }
    try {
      return await fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        body,
        redirect,
      });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private async request<T>(method: string, path: string, body: string | undefined, init: RequestInit) {
    const response = await this.send(method, path, body, init);
    const text = await response.text();
    const json = jsonOf(text);
    if (response.ok) {
      if (text && json === undefined) {
        throw new CliError(
          `${this.target.api} answered ${method} ${path.split('?')[0]} with something that is not JSON (HTTP ${response.status})`,
          EXIT.unreachable,
          this.target.kind === 'local'
            ? START_HINT
            : 'check the stack (`ApiUrl` output) and any proxy on the way',
        );
      }
      return json as T;
    }
    throw this.refusal(method, path, response.status, json, text, init);
  }

  private async adminHeaders(request: SignedRequest): Promise<Record<string, string>> {
    if (this.target.kind === 'local') {
      if (!this.target.adminKey) {
        throw new CliError(
          `${this.target.source} has no admin key`,
          EXIT.forbidden,
          'restart the platform (`nimbus local up`): it writes the admin key to the endpoints file',
        );
      }
      return { [API.adminKeyHeader]: this.target.adminKey };
    }
    try {
      return await signRequest(request, this.target.region);
    } catch (error) {
      throw awsError(error, 'cannot sign the request with your AWS credentials');
    }
  }

  private unreachable(error: unknown): CliError {
    const local = this.target.kind === 'local';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return new CliError(
      `cannot reach the platform at ${this.target.api} (${why})${local ? `: is the platform of ${this.target.source} running?` : ''}`,
      EXIT.unreachable,
      local
        ? START_HINT
        : isNetworkError(error)
          ? 'check your network and the stack'
          : 'check the stack (`ApiUrl` output)',
      { cause: error },
    );
  }

  private refusal(
    method: string,
    path: string,
    status: number,
    json: unknown,
    text: string,
    init: RequestInit,
  ) {
    const body = (json ?? {}) as { error?: unknown; message?: unknown; field?: unknown; requestId?: unknown };
    const said = String(body.error ?? body.message ?? (text.trim().slice(0, 200) || `HTTP ${status}`));
    if (status === 404) return new HttpError(said, EXIT.notFound, status, init.notFoundHint);
    if (status === 403 || status === 401) {
      // API Gateway's answer to a route it does not have, even with a good key.
      if (init.auth !== 'admin' && said === 'Missing Authentication Token') {
        return new HttpError(
          `the platform has no route ${method} ${path.split('?')[0]}`,
          EXIT.notFound,
          status,
          'the platform is older than this CLI: restart it (`nimbus local up`) or redeploy the stack',
        );
      }
      if (init.auth === 'admin') {
        return new HttpError(
          `registry change refused (HTTP ${status}: ${said})`,
          EXIT.forbidden,
          status,
          this.target.kind === 'local'
            ? `the admin key is "adminKey" in ${this.target.source} (kept in <data-dir>/admin-key); is it the running platform's file?`
            : 'changes are signed with your AWS credentials: they need execute-api:Invoke on the registry API',
        );
      }
      return new HttpError(
        `the API key was refused (HTTP ${status}: ${said})`,
        EXIT.forbidden,
        status,
        this.target.kind === 'local'
          ? `the API key is "apiKey" in ${this.target.source}; is it the running platform's file?`
          : `the key ${this.target.apiKeyId} must be in the API's usage plan`,
      );
    }
    if (status === 429) {
      return new HttpError(
        `the platform is throttling requests (HTTP 429: ${said})`,
        EXIT.failed,
        status,
        this.target.kind === 'local'
          ? 'try again in a moment'
          : "try again in a moment; the usage plan's rate limit is in the stack's InferenceApi",
      );
    }
    if (status >= 500) {
      const request = typeof body.requestId === 'string' ? `, request ${body.requestId}` : '';
      return new HttpError(
        `the platform failed on ${method} ${path.split('?')[0]} (HTTP ${status}: ${said}${request})`,
        EXIT.failed,
        status,
        this.target.kind === 'local'
          ? "try again; the platform's output has the error"
          : "try again; the function's CloudWatch log has the error",
      );
    }
    const field = typeof body.field === 'string' ? ` (field ${body.field})` : '';
    return new HttpError(`${said}${field}`, EXIT.failed, status);
  }
}

/** An answer's JSON, or undefined when it is empty or not JSON. */
function jsonOf(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** `/v1/registry/<path>`, each segment escaped. */
export const registryPath = (...parts: readonly (string | number)[]): string =>
  `/${API.registryResource.join('/')}/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;

/** `/v1/monitoring/<path>`, each segment escaped. */
export const monitoringPath = (...parts: readonly (string | number)[]): string =>
  `/${API.monitoringResource.join('/')}/${parts.map((p) => encodeURIComponent(String(p))).join('/')}`;
