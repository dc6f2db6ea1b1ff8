// A bounded load test of the trigger API: 1,000 POSTs, 50 at a time, each with an Idempotency-Key
// (100 of them repeating an earlier key), against a real server. Every accepted request must map to
// exactly one workflow, and nothing may be lost. No worker polls the target cluster's queue, so
// the figures are the control plane's own (auth, store, planning, start), not the fleet's.
import { startStack, type TestStack } from '../harness/stack';
import { startOpsServer, type OpsServer } from '../harness/server';
import { startPostgres, type Postgres } from '../harness/postgres';

const REQUESTS = 1000;
const DUPLICATES = 100;
const CONCURRENCY = 50;
const REQUEST_TIMEOUT_MS = 30_000;

let stack: TestStack;
let postgres: Postgres;

beforeAll(async () => {
  [stack, postgres] = await Promise.all([startStack({ count: 1 }), startPostgres()]);
});

afterAll(async () => {
  await Promise.all([stack?.stop(), postgres?.stop()]);
});

const DEFINITIONS = [
  { apiVersion: 'ops.dev/v1', kind: 'Cluster', metadata: { name: 'load' }, spec: { description: 'no worker polls it: runs wait in its queue' } },
  { apiVersion: 'ops.dev/v1', kind: 'Host', metadata: { name: 'load-target' }, spec: { address: 'localhost', connection: 'local', cluster: 'load' } },
  { apiVersion: 'ops.dev/v1', kind: 'Task', metadata: { name: 'probe' }, spec: { targets: { hosts: ['load-target'] }, variables: [{ name: 'n', required: true }], steps: [{ shell: 'true' }] } },
];

interface Outcome {
  key: string;
  status: number;
  runId?: string;
  ms: number;
}

/** 900 distinct keys, and 100 requests that repeat one of them, spread through the sequence. */
function requestKeys(prefix: string): string[] {
  const keys = Array.from({ length: REQUESTS - DUPLICATES }, (_, i) => `${prefix}-${i}`);
  for (let d = 0; d < DUPLICATES; d += 1) keys.splice(10 * d + 5, 0, `${prefix}-${d * 9}`);
  return keys;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe.each([['PGlite'], ['PostgreSQL']])('1,000 trigger requests at concurrency 50, store on %s', (storeName) => {
  let server: OpsServer;
  beforeAll(async () => {
    const databaseUrl = storeName === 'PostgreSQL' ? await postgres.createDatabase('ops_load') : undefined;
    server = await startOpsServer(stack, { name: `load-${storeName}`, databaseUrl });
    for (const doc of DEFINITIONS) {
      const r = await server.call('PUT', `/api/v1/${doc.kind.toLowerCase()}s/${doc.metadata.name}`, { body: doc });
      expect(r.status).toBe(201);
    }
  });
  afterAll(() => server?.stop());

  test('every accepted request maps to exactly one workflow, and nothing is lost', async () => {
    const prefix = `load-${storeName.toLowerCase()}`;
    const keys = requestKeys(prefix);
    const outcomes: Outcome[] = [];
    let next = 0;
    const started = Date.now();
    const client = async () => {
      while (next < keys.length) {
        const key = keys[next];
        next += 1;
        const t0 = performance.now();
        try {
          const r = await fetch(`${server.url}/api/v1/taskruns`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json', 'Idempotency-Key': key },
            body: JSON.stringify({ task: 'probe', variables: { n: key } }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          const body = (await r.json()) as { id?: string };
          outcomes.push({ key, status: r.status, runId: body.id, ms: performance.now() - t0 });
        } catch {
          outcomes.push({ key, status: 0, ms: performance.now() - t0 });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
    const seconds = (Date.now() - started) / 1000;

    const latencies = outcomes.map((o) => o.ms).sort((a, b) => a - b);
    const accepted = outcomes.filter((o) => o.status === 200 || o.status === 201);
    const figures = {
      store: storeName,
      requests: outcomes.length,
      concurrency: CONCURRENCY,
      seconds: Number(seconds.toFixed(2)),
      requestsPerSecond: Math.round(outcomes.length / seconds),
      latencyMs: Object.fromEntries([50, 90, 95, 99, 100].map((p) => [p === 100 ? 'max' : `p${p}`, Math.round(percentile(latencies, p))])),
      created201: outcomes.filter((o) => o.status === 201).length,
      replayed200: outcomes.filter((o) => o.status === 200).length,
      refusedOrFailed: outcomes.length - accepted.length,
    };
    console.log(`load figures: ${JSON.stringify(figures)}`);

    expect(outcomes).toHaveLength(REQUESTS);
    expect(figures.refusedOrFailed).toBe(0);
    // One run per key: the first request with a key created it, every repeat got the same run back.
    const runByKey = new Map<string, string>();
    for (const o of accepted) {
      expect(o.runId).toBeTruthy();
      if (runByKey.has(o.key)) expect(o.runId).toBe(runByKey.get(o.key));
      runByKey.set(o.key, o.runId as string);
    }
    expect(runByKey.size).toBe(REQUESTS - DUPLICATES);
    expect(figures.created201).toBe(REQUESTS - DUPLICATES);
    expect(new Set(runByKey.values()).size).toBe(REQUESTS - DUPLICATES);

    // Temporal visibility holds exactly those workflows: none missing, none extra, none twice.
    const query = `WorkflowType = 'taskRun' AND OpsTask = 'probe' AND OpsRequester = 'admin' AND StartTime >= '${new Date(started - 1000).toISOString()}'`;
    const deadline = Date.now() + 60_000;
    let ids: string[] = [];
    for (;;) {
      ids = [];
      for await (const w of stack.client.workflow.list({ query })) ids.push(w.workflowId);
      if (ids.length >= REQUESTS - DUPLICATES || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(ids.length).toBe(REQUESTS - DUPLICATES);
    expect(new Set(ids)).toEqual(new Set(runByKey.values()));
  });
});
