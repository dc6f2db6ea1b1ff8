import type { Command } from 'commander';
import type { StoredEvent } from '../../api/events';
import { ApiClient, serverSettings } from '../api-client';
import { configFrom, natsConnection, wholeNumber } from '../context';
import { CliError, ExitCode, stopOnInterrupt } from '../exit-codes';
import { parseDuration } from '../../model/timing';
import { eventSubjectProblem } from '../../model/subjects';

interface EventsOptions {
  subject?: string;
  since: string;
  follow?: boolean;
  limit: number;
  output?: string;
}

/** `ops events`: what happened across every cluster, from the hub; through the Ops server when one is configured, else from NATS. */
export function eventsCommand(program: Command): void {
  program
    .command('events')
    .description('print events (host and cluster heartbeats, inspection verdicts, run status, approvals) oldest first; -f keeps following')
    .option('--subject <pattern>', 'only these, e.g. "ops.clusters.*.inspections.>" ("*" one token, ">" the rest)')
    .option('--since <when>', 'from this long ago (1h, 30m) or this ISO time', '1h')
    .option('-f, --follow', 'keep printing new events until interrupted')
    .option('--limit <n>', 'at most this many (without --follow)', wholeNumber(1), 1000)
    .option('-o, --output <format>', 'json: one event per line, as stored')
    .action(async (opts: EventsOptions, command: Command) => {
      if (opts.output !== undefined && opts.output !== 'json') throw new CliError(`-o ${opts.output}: use json`, ExitCode.usage);
      // Checked here as the server checks it: read straight from NATS, a pattern outside the streams is a NATS error.
      const subjectProblem = opts.subject === undefined ? undefined : eventSubjectProblem(opts.subject);
      if (subjectProblem) throw new CliError(`--subject ${opts.subject}: ${subjectProblem}`, ExitCode.usage);
      const print = (e: StoredEvent) => console.log(opts.output === 'json' ? JSON.stringify(e) : describe(e));
      const stop = stopOnInterrupt();
      const server = serverSettings(command);
      if (server) {
        const query = new URLSearchParams({ since: opts.since, limit: String(opts.limit), follow: String(Boolean(opts.follow)), ...(opts.subject ? { subject: opts.subject } : {}) });
        const api = new ApiClient(server);
        if (!opts.follow) return (await api.get<{ items: StoredEvent[] }>(`/api/v1/events?${query}`)).items.forEach(print);
        for await (const e of api.events(`/api/v1/events?${query}`, stop.signal)) if (e.event === 'event') print(JSON.parse(e.data) as StoredEvent);
        return;
      }
      const { readEvents, followEvents } = await import('../../api/events');
      const seconds = parseDuration(opts.since);
      const since = seconds !== undefined ? new Date(Date.now() - seconds * 1000) : new Date(opts.since);
      if (Number.isNaN(since.getTime())) throw new CliError(`--since ${opts.since}: give a duration such as 1h or an ISO time`, ExitCode.usage);
      const nc = await natsConnection(configFrom(command));
      try {
        if (!opts.follow) return (await readEvents(nc, { subject: opts.subject, since, limit: opts.limit })).forEach(print);
        await followEvents(nc, { subject: opts.subject, since }, print, stop.signal, (m) => console.error(m));
      } finally {
        await nc.close();
      }
    });
}

/** One line: when, what, and the gist of its data. */
function describe({ stored, subject, event }: StoredEvent): string {
  const d = event.data as Record<string, unknown>;
  const parts = [d.state ?? d.status, d.value !== undefined ? `value ${String(d.value)}` : undefined, d.detail, d.reason].filter((x) => x !== undefined && x !== '');
  return `${stored}  ${subject}  ${event.type}${parts.length ? `  ${parts.join(' ')}` : ''}`;
}
