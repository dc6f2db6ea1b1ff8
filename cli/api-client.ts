import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { configDir } from '../workers/config';
import { formatIssue, type Issue } from '../model/errors';
import { CliError, ExitCode } from './exit-codes';
import { yaml } from './output';

/** Where the control plane is and who we are to it: --server, else OPS_SERVER/OPS_TOKEN, else ~/.config/ops/config.yaml. */
export interface ServerSettings {
  url: string;
  token?: string;
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPS_CLI_CONFIG ?? join(configDir(env), 'config.yaml');
}

export function serverSettings(command: Command, env: NodeJS.ProcessEnv = process.env): ServerSettings | undefined {
  const flags = command.optsWithGlobals() as { server?: string };
  const file = readConfigFile(configFile(env));
  const url = flags.server ?? env.OPS_SERVER ?? file.server;
  if (!url) return undefined;
  return { url: url.replace(/\/+$/, ''), token: env.OPS_TOKEN ?? file.token };
}

/** The configured server's client; without one, a usage error saying how to name one (and `otherwise`, what works without). */
export function requireServer(command: Command, otherwise?: string): ApiClient {
  const settings = serverSettings(command);
  if (!settings) throw new CliError(`"ops ${command.name()}" talks to an Ops server: give --server URL, set OPS_SERVER, or write server: URL in ${configFile()}${otherwise ? `; without one: ${otherwise}` : ''}`, ExitCode.usage);
  return new ApiClient(settings);
}

function readConfigFile(path: string): { server?: string; token?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  const value = yaml().parse(text) as { server?: unknown; token?: unknown } | null;
  return { server: typeof value?.server === 'string' ? value.server : undefined, token: typeof value?.token === 'string' ? value.token : undefined };
}

/** What an error status means to a script: the CLI's exit codes. */
const EXIT_BY_STATUS: Record<number, number> = { 400: ExitCode.usage, 401: ExitCode.auth, 403: ExitCode.auth, 404: ExitCode.notFound, 409: ExitCode.usage, 413: ExitCode.usage, 422: ExitCode.usage };

export interface ServerEvent {
  event: string;
  id?: string;
  data: string;
}

/** The REST API as the CLI uses it; every failure becomes a CliError with a meaningful exit code. */
export class ApiClient {
  constructor(readonly settings: ServerSettings) {}

  async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await this.fetch(path, {
      method,
      headers: { ...this.authHeader(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? (safeJson(text) as T) : (undefined as T);
    if (!response.ok) throw apiError(response.status, parsed, text);
    return { status: response.status, body: parsed, headers: response.headers };
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path).then((r) => r.body);
  }

  /** Server-Sent Events from `path`, until the server ends the stream or `signal` aborts. */
  async *events(path: string, signal?: AbortSignal): AsyncGenerator<ServerEvent> {
    const response = await this.fetch(path, { headers: { ...this.authHeader(), Accept: 'text/event-stream' }, signal });
    if (!response.ok || !response.body) {
      const text = await response.text();
      throw apiError(response.status, safeJson(text), text);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(bytes, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: ServerEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon === 0) continue; // a comment (keep-alive)
            const [field, value] = colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
            if (field === 'event') event.event = value;
            else if (field === 'id') event.id = value;
            else if (field === 'data') event.data += event.data ? `\n${value}` : value;
          }
          if (event.data || event.event !== 'message') yield event;
        }
      }
    } catch (e) {
      if (!signal?.aborted) throw e;
    }
  }

  private authHeader(): Record<string, string> {
    return this.settings.token ? { Authorization: `Bearer ${this.settings.token}` } : {};
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.settings.url}${path}`, init);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      throw new CliError(`cannot reach the Ops server at ${this.settings.url}: ${cause}`, ExitCode.unavailable);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function apiError(status: number, body: unknown, text: string): CliError {
  const b = body as { message?: string; issues?: Issue[] } | undefined;
  const hint = status === 401 ? ' (set OPS_TOKEN, or token: in the config file)' : '';
  const issues = b?.issues?.length ? b.issues.map((i) => `\n  ${formatIssue(i)}`).join('') : '';
  // A request refused as invalid has a message that only repeats its issues on one line, for readers of the JSON.
  const invalid = issues && (status === 400 || status === 422);
  const detail = invalid ? `invalid input:${issues}` : `${b?.message ?? text.slice(0, 500)}${hint}${issues}`;
  return new CliError(`server answered ${status}: ${detail}`, EXIT_BY_STATUS[status] ?? ExitCode.unavailable);
}

export function encode(part: string): string {
  return encodeURIComponent(part);
}
