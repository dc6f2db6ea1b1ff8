// User schedules through the CLI against the real stack: a task every 10 s as a Temporal Schedule;
// pausing stops its runs, a trigger starts one now, a backfill starts the runs of a past period.
import { ScheduleNotFoundError } from '@temporalio/client';
import { startStack, workerLogs, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { untilWith } from '../harness/until';

const until = untilWith(() => `${workerLogs(stack)}\n${server.log()}`);

let stack: TestStack;
let server: OpsServer;
const API = 'ops.dev/v1';

beforeAll(async () => {
  stack = await startStack({ count: 1 });
  const worker = stack.startWorker();
  server = await startOpsServer(stack, { name: 'schedules' });
  await worker.ready;
  await putHost({});
  const tick = { apiVersion: API, kind: 'Task', metadata: { name: 'tick' }, spec: { targets: { hosts: ['host-1'] }, variables: [{ name: 'word', default: 'tick' }], steps: [{ shell: 'echo "${word} from ${run.id}"' }] } };
  expect((await server.call('PUT', '/api/v1/tasks/tick', { body: tick })).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
  await stack?.stop();
});

const ops = (...args: string[]) => stack.ops(args, { env: server.env });

async function putHost(labels: Record<string, string>): Promise<void> {
  const h = stack.fleet.hosts[0];
  const r = await server.call('PUT', '/api/v1/hosts/host-1', { body: { apiVersion: API, kind: 'Host', metadata: { name: 'host-1', labels }, spec: { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint } } });
  expect(r.status).toBeLessThan(300);
}

interface Run {
  id: string;
  status: string;
  trigger: string;
  requester: string;
  schedule: string;
}

const runs = async (): Promise<Run[]> => JSON.parse((await ops('get', 'runs', '--schedule', 'tick', '-o', 'json')).stdout).items;
/** The time a scheduled run was due: its id is the schedule's name and that time. */
const dueAt = (run: Run) => Date.parse(run.id.slice('tick-'.length));

test('a schedule starts runs on time, tagged with it; paused it starts none, a trigger starts one now', async () => {
  const refused = await ops('schedule', 'create', 'bad', '--pipeline', 'nope', '--cron', '0 3 * *');
  expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('Schedule/bad: spec.cron: needs 5 fields')]);
  const unplannable = await ops('schedule', 'create', 'bad', '--pipeline', 'nope', '--every', '1h');
  expect([unplannable.code, unplannable.stderr]).toEqual([2, expect.stringContaining('Schedule/bad: spec.pipeline: names Pipeline "nope", which is not defined')]);
  const unknownVariable = await server.call('PUT', '/api/v1/schedules/s7', { body: { apiVersion: API, kind: 'Schedule', metadata: { name: 's7' }, spec: { task: 'tick', every: '1m', variables: { nope: '1' } } } });
  expect([unknownVariable.status, unknownVariable.body.issues]).toEqual([422, [{ document: 'Schedule/s7', path: 'spec.variables.nope', message: 'unknown variable (declared: word)' }]]);

  // Runs missed by more than the catch-up window (Temporal down, or the schedule paused) are not made up.
  const created = await ops('schedule', 'create', 'tick', '--task', 'tick', '--every', '10s', '--catchup-window', '10s', '--var', 'word=hello');
  expect([created.code, created.stdout]).toEqual([0, expect.stringMatching(/^schedule\/tick created; next run \d{4}-\d\d-\d\dT/)]);
  expect((await ops('schedule', 'create', 'tick', '--task', 'tick', '--every', '10s')).code).toBe(2);

  const [first] = await until('a scheduled run to succeed', runs, (r) => r.some((x) => x.status === 'succeeded'));
  expect(first).toMatchObject({ trigger: 'schedule', requester: 'schedule:tick', schedule: 'tick' });
  expect(first.id).toMatch(/^tick-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // The run is named by its own id, so its output is found under it.
  expect((await ops('logs', first.id)).stdout).toBe(`host-1 | hello from ${first.id}\n`);

  const paused = await ops('schedule', 'pause', 'tick', '--note', 'maintenance freeze');
  expect(paused.stdout).toBe('schedule tick: paused (paused by admin: maintenance freeze)\n');
  const pausedAt = Date.now();
  // Re-applying the definition keeps it paused.
  const definition = (await server.call('GET', '/api/v1/schedules/tick')).body;
  const { status: _status, ...document } = definition;
  expect((await server.call('PUT', '/api/v1/schedules/tick', { body: { ...document, spec: { ...document.spec, variables: { word: 'again' } } } })).status).toBe(200);
  // A stretch of the pause that a backfill fills in below: two runs' worth, then some.
  const start = new Date(Math.ceil((pausedAt + 1000) / 10_000) * 10_000);
  const end = new Date(start.getTime() + 20_000);
  await new Promise((r) => setTimeout(r, end.getTime() + 1000 - Date.now()));
  const whilePaused = (await runs()).filter((r) => dueAt(r) > pausedAt + 1000);
  expect(whilePaused).toEqual([]);
  const shown = await ops('schedule', 'get', 'tick');
  expect(shown.stdout).toMatch(/tick\s+task tick\s+every 10s\s+paused\s+/);
  expect(shown.stdout).toContain('note: paused by admin: maintenance freeze');

  const triggered = await ops('schedule', 'trigger', 'tick');
  expect(triggered.stdout).toBe('schedule tick: a run starts now (paused by admin: maintenance freeze)\n');
  const now = await until('the triggered run', runs, (r) => r.some((x) => dueAt(x) > end.getTime() && x.status === 'succeeded'));
  const run = now.find((x) => dueAt(x) > end.getTime()) as Run;
  expect((await ops('logs', run.id)).stdout).toBe(`host-1 | again from ${run.id}\n`);

  // Unpaused, it does not make up for more of the pause than its catch-up window…
  expect((await ops('schedule', 'unpause', 'tick')).stdout).toBe('schedule tick: active\n');
  const unpausedAt = Date.now();
  await until('the next run after the pause', runs, (r) => r.some((x) => dueAt(x) > unpausedAt && x.status === 'succeeded'), 30_000);
  expect((await runs()).filter((x) => dueAt(x) >= start.getTime() && dueAt(x) < end.getTime())).toEqual([]);
  // …but a backfill runs (part of) the period it missed after all: every 10 s of it, one after another.
  expect((await ops('schedule', 'backfill', 'tick', '--start', start.toISOString(), '--end', end.toISOString())).code).toBe(0);
  const backfilled = await until('the backfilled runs', runs, (r) => r.filter((x) => dueAt(x) >= start.getTime() && dueAt(x) < end.getTime() && x.status === 'succeeded').length === 2);
  expect(backfilled.filter((x) => dueAt(x) >= start.getTime() && dueAt(x) < end.getTime()).map((x) => dueAt(x)).sort()).toEqual([start.getTime(), start.getTime() + 10_000]);

  expect((await ops('schedule', 'delete', 'tick')).stdout).toBe('schedule/tick deleted\n');
  expect((await ops('schedule', 'get', 'tick')).code).toBe(3);
  await expect(stack.client.schedule.getHandle('ops-schedule-tick').describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});

test('a paused schedule stays paused, with its note, through a spell when its definition cannot be planned', async () => {
  const tock = { apiVersion: API, kind: 'Task', metadata: { name: 'tock' }, spec: { targets: { selector: 'tock=yes' }, steps: [{ shell: 'echo tock' }] } };
  await putHost({ tock: 'yes' });
  expect((await server.call('PUT', '/api/v1/tasks/tock', { body: tock })).status).toBe(201);
  expect((await ops('schedule', 'create', 'freeze', '--task', 'tock', '--every', '1h')).code).toBe(0);
  expect((await ops('schedule', 'pause', 'freeze', '--note', 'change freeze')).code).toBe(0);
  const temporalSchedule = () => stack.client.schedule.getHandle('ops-schedule-freeze').describe();

  // The task matches no host for a while: Temporal's schedule goes, the pause stays.
  await putHost({});
  await expect(temporalSchedule()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  await putHost({ tock: 'yes' });
  expect((await temporalSchedule()).state).toMatchObject({ paused: true, note: 'paused by admin: change freeze' });
  expect((await ops('schedule', 'get', 'freeze')).stdout).toContain('note: paused by admin: change freeze');

  // Unpaused, it comes back active after the next such spell.
  expect((await ops('schedule', 'unpause', 'freeze')).code).toBe(0);
  await putHost({});
  await putHost({ tock: 'yes' });
  expect((await temporalSchedule()).state.paused).toBe(false);
  expect((await ops('schedule', 'delete', 'freeze')).code).toBe(0);
});
