import type { LogChunk } from '../api/logs';
import type { RunOutcome, RunTree } from '../workers/runs';
import type { ApiClient } from './api-client';
import { encode } from './api-client';
import { CliError, ExitCode } from './exit-codes';
import type { RunSource } from './watch';

/** A run as GET /api/v1/runs/:id answers it. */
interface RunDetail {
  id: string;
  kind: 'pipeline' | 'task';
  status: string;
  progress?: RunTree;
  result?: RunOutcome['result'];
}

/** Reads a run through the server, for `ops run … --watch` and `ops watch` in server mode. */
export function apiRunSource(api: ApiClient, runId: string): RunSource {
  const detail = () => api.get<RunDetail>(`/api/v1/runs/${encode(runId)}`);
  return {
    async tree() {
      const run = await detail();
      return run.status === 'running' ? run.progress : { runId, kind: run.kind, closed: true, tasks: [] };
    },
    async outcome() {
      for (;;) {
        const run = await detail();
        if (run.status !== 'running' && run.result) return { kind: run.kind, result: run.result } as RunOutcome;
        await new Promise((r) => setTimeout(r, 500));
      }
    },
  };
}

/** A run's output chunks through the server's event stream; with `follow`, until the run ends. */
export async function* apiLogs(api: ApiClient, runId: string, options: { host?: string; follow: boolean; signal?: AbortSignal }): AsyncGenerator<LogChunk> {
  const query = new URLSearchParams({ follow: String(options.follow) });
  if (options.host) query.set('host', options.host);
  for await (const event of api.events(`/api/v1/runs/${encode(runId)}/logs?${query}`, options.signal)) {
    if (event.event === 'end') return;
    if (event.event === 'error') throw new CliError(`the Ops server could not give the whole output of ${runId}: ${(JSON.parse(event.data) as { message: string }).message}`, ExitCode.unavailable);
    if (event.event === 'log' || event.event === 'status') yield JSON.parse(event.data) as LogChunk;
  }
}
