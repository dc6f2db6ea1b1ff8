import type { Command } from 'commander';
import { API_VERSION } from '../../model/naming';
import { KIND_PLURALS, kindFromPlural, type Resource } from '../../model/resources';
import type { RunSummary } from '../../workers/run-list';
import type { HostResult } from '../../model/run';
import type { RunTree } from '../../workers/runs';
import type { ListedApproval, PendingApproval } from '../../workers/approvals';
import { describeApprovers, describeWait, type ApprovalState } from '../../model/approval';
import { encode, requireServer } from '../api-client';
import { CliError, ExitCode } from '../exit-codes';
import { age, duration, listFormat, printData, printTable, type ListFormat } from '../output';
import { COLUMNS } from '../columns';
import { wholeNumber } from '../context';

interface GetOptions {
  output?: string;
  selector?: string;
  pipeline?: string;
  task?: string;
  cluster?: string;
  status?: string;
  trigger?: string;
  requester?: string;
  schedule?: string;
  limit: number;
  pageToken?: string;
}

export function getCommand(program: Command): void {
  program
    .command('get')
    .description('show definitions, runs or waiting approvals from the Ops server: ops get hosts|clusters|tasks|pipelines|schedules|inspections|eventhooks|runs|approvals [NAME]')
    .argument('<kind>', 'hosts, clusters, tasks, pipelines, schedules, inspections, eventhooks, runs or approvals')
    .argument('[name]', 'one of them')
    .option('-o, --output <format>', 'wide, json or yaml')
    .option('-l, --selector <labels>', 'definitions whose labels match, e.g. env=prod,role!=db')
    .option('--pipeline <name>', 'runs and approvals: of this pipeline')
    .option('--task <name>', 'runs: of this task')
    .option('--cluster <name>', 'runs: on this cluster')
    .option('--status <status>', 'runs: running, succeeded, failed, cancelled, terminated or timedOut')
    .option('--trigger <trigger>', 'runs: cli, api, schedule or event')
    .option('--requester <name>', 'runs: started by this token or user')
    .option('--schedule <name>', 'runs: started by this schedule')
    .option('--limit <n>', 'runs and approvals: at most this many runs', wholeNumber(1), 50)
    .option('--page-token <token>', 'runs: the next page, from the previous listing')
    .action(async (kindName: string, name: string | undefined, opts: GetOptions, command: Command) => {
      const format = listFormat(opts.output);
      const api = requireServer(command);
      if (/^approvals?$/i.test(kindName)) return showApprovals(await api.get(`/api/v1/approvals?${new URLSearchParams({ limit: String(opts.limit), ...(opts.pipeline ? { pipeline: opts.pipeline } : {}) })}`), format);
      if (/^(runs?|pipelineruns|taskruns)$/i.test(kindName)) {
        if (name) return showRun(await api.get(`/api/v1/runs/${encode(name)}`), format);
        const query = new URLSearchParams({ limit: String(opts.limit) });
        for (const key of ['pipeline', 'task', 'cluster', 'status', 'trigger', 'requester', 'schedule', 'pageToken'] as const) if (opts[key]) query.set(key, opts[key] as string);
        const page = await api.get<{ items: Array<RunSummary & { temporalWeb: string }>; nextPageToken?: string }>(`/api/v1/runs?${query}`);
        if (format === 'json' || format === 'yaml') return printData(format, page);
        printTable(
          ['ID', 'KIND', 'NAME', 'STATUS', 'TRIGGER', 'REQUESTER', 'AGE', 'DURATION', ...(format === 'wide' ? ['CLUSTERS', 'TEMPORAL WEB'] : [])],
          page.items.map((r) => [r.id, r.kind, r.name, r.status, r.trigger ?? '', r.requester ?? '', age(r.startTime), duration(r.durationMs), ...(format === 'wide' ? [r.clusters.join(','), r.temporalWeb] : [])]),
        );
        if (page.nextPageToken) console.error(`more: --page-token ${page.nextPageToken}`);
        return;
      }
      const kind = kindFromPlural(kindName);
      if (!kind) throw new CliError(`unknown kind "${kindName}": use hosts, clusters, tasks, pipelines, schedules, inspections, eventhooks, runs or approvals`, ExitCode.usage);
      const path = `/api/v1/${KIND_PLURALS[kind]}`;
      const items = name ? [await api.get<Resource>(`${path}/${encode(name)}`)] : (await api.get<{ items: Resource[] }>(`${path}${opts.selector ? `?labelSelector=${encode(opts.selector)}` : ''}`)).items;
      if (format === 'json' || format === 'yaml') return printData(format, name ? items[0] : { apiVersion: API_VERSION, kind: `${kind}List`, items });
      const { header, row } = COLUMNS[kind](format === 'wide');
      printTable(header, items.map((r) => row(r as never)));
    });
}

interface RunDetail extends RunSummary {
  temporalWeb: string;
  variables: Record<string, string>;
  progress?: RunTree;
  result?: { status: string; reason?: string; stages?: Array<{ name: string; status: string; approval?: ApprovalState; tasks: Array<{ name: string; hosts: HostResult[] }> }>; name?: string; hosts?: HostResult[] };
}

function showRun(run: RunDetail, format: ListFormat): void {
  if (format === 'json' || format === 'yaml') return printData(format, run);
  console.log(`run ${run.id}: ${run.kind} ${run.name}, ${run.status}${run.result?.reason ? ` (${run.result.reason})` : ''}`);
  console.log(`  started ${run.startTime} by ${run.requester ?? '?'} (${run.trigger ?? '?'})${run.durationMs !== undefined ? `, took ${duration(run.durationMs)}` : ''}`);
  console.log(`  Temporal Web: ${run.temporalWeb}`);
  const vars = Object.entries(run.variables);
  if (vars.length) console.log(`  variables: ${vars.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const tasks = run.result
    ? run.result.stages
      ? run.result.stages.flatMap((s) => s.tasks)
      : [{ name: run.result.name ?? run.name, hosts: run.result.hosts ?? [] }]
    : (run.progress?.tasks ?? []).map((t) => ({ name: t.name, hosts: t.hosts as HostResult[] }));
  if (run.result?.stages) for (const s of run.result.stages) console.log(`  stage ${s.name}: ${s.status}${s.approval?.reason ? ` (${s.approval.reason})` : ''}`);
  for (const s of run.progress?.pipeline?.stages ?? []) if (s.approval?.status === 'pending') console.log(`  stage ${s.name}: ${describeWait(s.approval)}: ${s.approval.message}`);
  for (const stage of run.progress?.pipeline?.stages ?? []) {
    for (const t of stage.tasks.filter((x) => x.status === 'waiting')) console.log(`  stage ${stage.name}: task ${t.name} ${t.reason ?? 'waiting'}`);
  }
  if (run.progress?.stuck) console.log(`  ! not making progress: ${run.progress.stuck}`);
  const rows = tasks.flatMap((t) => t.hosts.map((h) => [t.name, h.host, h.status, h.exitCode === undefined ? '' : String(h.exitCode), h.worker ?? '', h.message ?? '']));
  if (rows.length) printTable(['TASK', 'HOST', 'STATUS', 'EXIT', 'WORKER', 'MESSAGE'], rows);
}

/** Waiting approvals: what each asks, who may decide, how far it got, until when; or why a run could not say. */
function showApprovals(page: { items: Array<ListedApproval & { temporalWeb: string }> }, format: ListFormat): void {
  if (format === 'json' || format === 'yaml') return printData(format, page);
  const approvals = (a: PendingApproval) => `${a.votes.filter((v) => v.decision === 'approve').length}/${a.required}`;
  const wide = (a: ListedApproval & { temporalWeb: string }) => (format !== 'wide' ? [] : [a.status === 'unread' ? '' : Object.entries(a.variables).map(([k, v]) => `${k}=${v}`).join(' '), a.temporalWeb]);
  printTable(
    ['RUN', 'PIPELINE', 'STAGE', 'APPROVALS', 'APPROVERS', 'WAITING', 'DEADLINE', ...(format === 'wide' ? ['VARIABLES', 'TEMPORAL WEB'] : []), 'MESSAGE'],
    page.items.map((a) =>
      a.status === 'unread'
        ? [a.runId, a.pipeline, '?', '?', '?', '?', '?', ...wide(a), a.problem]
        : [a.runId, a.pipeline, a.stage, approvals(a), describeApprovers(a.approvers), age(a.requestedAt), `${a.deadline} (${a.onTimeout})`, ...wide(a), a.message],
    ),
  );
  if (page.items.length) console.error(`decide with: ops approve RUN [--stage STAGE] [--reject] --comment "why"`);
}
