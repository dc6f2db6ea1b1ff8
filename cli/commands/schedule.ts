import type { Command } from 'commander';
import { API_VERSION } from '../../model/naming';
import { validateResource, type Resource } from '../../model/resources';
import { ValidationError } from '../../model/errors';
import { OVERLAP_POLICIES } from '../../model/schedule';
import type { ScheduleState } from '../../workers/schedules';
import { encode, requireServer, type ApiClient } from '../api-client';
import { collect, parseVars } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { listFormat, printData, printTable } from '../output';
import { COLUMNS } from '../columns';

interface CreateOptions {
  pipeline?: string;
  task?: string;
  cluster?: string;
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
  overlap?: string;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  var?: string[];
  description?: string;
}

type ScheduleStatus = Partial<ScheduleState> & { scheduled?: boolean; problems?: string[] };

/** `ops schedule …`: pipelines and tasks on a timetable, as Temporal Schedules the Ops server keeps. */
export function scheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('run a pipeline or task by cron or interval (Temporal Schedules, through the Ops server)');
  const path = (name: string, action = '') => `/api/v1/schedules/${encode(name)}${action ? `/${action}` : ''}`;

  schedule
    .command('create <name>')
    .description('create a schedule (a Schedule definition: `ops apply` and `ops delete schedule` work on it too)')
    .option('--pipeline <name>', 'run this pipeline')
    .option('--task <name>', 'or this task')
    .option('--cluster <name>', 'a task on nodes or a cluster API: which cluster')
    .option('--cron <expression>', 'when, as cron: "0 3 * * *" (minute hour day month weekday) or @daily')
    .option('--timezone <zone>', 'IANA time zone of --cron (default UTC)')
    .option('--every <duration>', 'or every so long: 90s, 15m, 6h, 1d')
    .option('--jitter <duration>', 'start each run up to this much later, at random')
    .option('--overlap <policy>', `if the last run still runs: ${OVERLAP_POLICIES.join(', ')}`, 'skip')
    .option('--catchup-window <duration>', 'runs missed (Temporal down) by less than this start late', '1h')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--var <name=value>', 'a variable of the runs (repeatable)', collect)
    .option('--description <text>')
    .action(async (name: string, opts: CreateOptions, command: Command) => {
      const spec = {
        ...(opts.description ? { description: opts.description } : {}),
        ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
        ...(opts.task ? { task: opts.task } : {}),
        ...(opts.cluster ? { cluster: opts.cluster } : {}),
        ...(opts.cron ? { cron: opts.cron } : {}),
        ...(opts.every ? { every: opts.every } : {}),
        ...(opts.timezone ? { timezone: opts.timezone } : {}),
        ...(opts.jitter ? { jitter: opts.jitter } : {}),
        overlap: opts.overlap,
        catchupWindow: opts.catchupWindow,
        pauseOnFailure: Boolean(opts.pauseOnFailure),
        variables: parseVars(opts.var),
      };
      const { resource, issues } = validateResource({ apiVersion: API_VERSION, kind: 'Schedule', metadata: { name }, spec });
      if (!resource) throw new ValidationError(issues);
      const api = requireServer(command);
      if (await exists(api, path(name))) throw new CliError(`schedule ${name} exists already: change it with "ops apply", or delete it first`, ExitCode.usage);
      await api.request('PUT', path(name), resource);
      const created = await api.get<Resource & { status?: ScheduleStatus }>(path(name));
      console.log(`schedule/${name} created${created.status?.nextRuns?.length ? `; next run ${created.status.nextRuns[0]}` : ''}`);
    });

  schedule
    .command('get [name]')
    .description('schedules with their state, next and last runs (as ops get schedules)')
    .option('-o, --output <format>', 'wide, json or yaml')
    .action(async (name: string | undefined, opts: { output?: string }, command: Command) => {
      const format = listFormat(opts.output);
      const api = requireServer(command);
      const items = name ? [await api.get<Resource>(path(name))] : (await api.get<{ items: Resource[] }>('/api/v1/schedules')).items;
      if (format === 'json' || format === 'yaml') return printData(format, name ? items[0] : { items });
      const { header, row } = COLUMNS.Schedule(format === 'wide');
      printTable(header, items.map(row));
      if (name) showRuns((items[0] as { status?: ScheduleStatus }).status);
    });

  const act = (verb: string, description: string, configure: (c: Command) => Command, body: (opts: Record<string, string | undefined>) => object) =>
    configure(schedule.command(`${verb} <name>`).description(description)).action(async (name: string, opts: Record<string, string | undefined>, command: Command) => {
      const { body: answer } = await requireServer(command).request<ScheduleStatus & { result: string }>('POST', path(name, verb), body(opts));
      console.log(`schedule ${name}: ${answer.result}${answer.paused && answer.note ? ` (${answer.note})` : ''}`);
    });
  act('pause', 'stop starting runs until unpaused (a re-apply keeps it paused)', (c) => c.option('--note <why>', 'shown with the schedule while paused'), (o) => (o.note ? { note: o.note } : {}));
  act('unpause', 'start runs again at the next due time', (c) => c.option('--note <why>'), (o) => (o.note ? { note: o.note } : {}));
  act('trigger', 'start a run now, paused or not', (c) => c.option('--overlap <policy>', `if a run still runs: ${OVERLAP_POLICIES.join(', ')} (default the schedule's)`), (o) => (o.overlap ? { overlap: o.overlap } : {}));
  act(
    'backfill',
    'start now the runs the schedule would have started between --start and --end',
    (c) => c.requiredOption('--start <time>', 'ISO 8601, e.g. 2025-03-01T00:00:00Z').requiredOption('--end <time>', 'ISO 8601').option('--overlap <policy>', `${OVERLAP_POLICIES.join(', ')} (default bufferAll: one after another)`),
    (o) => ({ start: o.start, end: o.end, ...(o.overlap ? { overlap: o.overlap } : {}) }),
  );

  schedule
    .command('delete <name>')
    .description('delete the schedule (runs it started go on)')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await requireServer(command).request('DELETE', path(name));
      console.log(`schedule/${name} deleted`);
    });
}

async function exists(api: ApiClient, path: string): Promise<boolean> {
  try {
    await api.get(path);
    return true;
  } catch (e) {
    if (e instanceof CliError && e.exitCode === ExitCode.notFound) return false;
    throw e;
  }
}

function showRuns(status: ScheduleStatus | undefined): void {
  for (const p of status?.problems ?? []) console.log(`problem: ${p}`);
  if (status?.note) console.log(`note: ${status.note}`);
  for (const t of status?.nextRuns ?? []) console.log(`next:   ${t}`);
  for (const r of status?.recentRuns ?? []) console.log(`ran:    ${r.runId} (due ${r.scheduledAt}, started ${r.startedAt})`);
}
