import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { canConnect } from '../../workers/embedded/processes';
import { loadConfig, localRequester, temporalWebLink } from '../../workers/config';
import { LOCAL_CLUSTER } from '../../model/naming';
import { loadCatalog } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { DEFAULT_PORT as API_PORT } from './server';

const TEMPORAL_PORT = 7233;
const UI_PORT = 8233;
const NATS_PORT = 4222;
const EXAMPLES = resolve(__dirname, '..', '..', '..', 'examples');

export function upCommand(program: Command): void {
  program
    .command('up')
    .description('the embedded stack on this machine: Temporal, NATS, a worker and the Ops API (:8080); runs an example pipeline, then stays up')
    .option('--examples <dir>', 'definitions to load', EXAMPLES)
    .option('--pipeline <name>', 'the example pipeline to run at start ("none" to skip)', 'node-health')
    .action(async (opts: { examples: string; pipeline: string }, command: Command) => {
      // Loaded here, not at start-up: `ops run` should not pay for the worker and server.
      const { startTemporal } = await import('../../workers/embedded/temporal-server');
      const { startNats } = await import('../../workers/embedded/nats-server');
      const { startWorkers } = await import('../../workers/worker');
      const { startServer } = await import('../../api/server');
      const { connectClient } = await import('../../workers/temporal');
      const { startPipelineRun } = await import('../../workers/runs');
      const { planPipelineRun } = await import('../../model/plan');
      const { watchRun } = await import('../watch');
      const flags = command.optsWithGlobals() as { dataDir?: string };
      const base = loadConfig({ dataDir: flags.dataDir });
      mkdirSync(base.dataDir, { recursive: true });
      for (const [what, port] of [['Temporal', TEMPORAL_PORT], ['Temporal Web', UI_PORT], ['NATS', NATS_PORT], ['Ops API', API_PORT]] as const) {
        if (await canConnect('127.0.0.1', port)) throw new CliError(`port ${port} (${what}) is already in use: is another stack running? Stop it, or use that one.`, ExitCode.unavailable);
      }
      const catalog = await loadCatalog([opts.examples]);
      console.log(`data directory: ${base.dataDir}`);
      // Temporal Web decodes payloads through the API's codec endpoint (api/codec.ts) for signed-in users.
      const codecEndpoint = `http://localhost:${API_PORT}/codec`;
      const temporal = await startTemporal({ dbFile: join(base.dataDir, 'temporal.db'), port: TEMPORAL_PORT, uiPort: UI_PORT, codecEndpoint });
      const nats = await startNats({ port: NATS_PORT, storeDir: join(base.dataDir, 'nats') });
      const config = { ...base, temporalAddress: temporal.address, natsUrl: nats.url, tls: undefined, apiKey: undefined };
      console.log(`Temporal ${temporal.address}, Temporal Web ${temporal.uiUrl}, NATS ${nats.url}`);
      const workers = await startWorkers(config, { control: true, cluster: LOCAL_CLUSTER });
      console.log(`worker ${workers.identity} polling ops.control and ops.cluster.${LOCAL_CLUSTER}`);
      const api = await startServer({ config, port: API_PORT, host: '127.0.0.1', databaseUrl: config.databaseUrl, bootstrapAdmin: true, log: (m) => console.error(m) });
      console.log(`Ops API ${api.url} (OpenAPI at ${api.url}/openapi.json)`);
      if (api.adminToken) console.log(`admin token, shown only now (keep it):\n  ${api.adminToken}`);
      console.log(`Temporal Web decodes run payloads once you sign in at ${codecEndpoint}/login (README: "Temporal Web")`);
      const stopAll = async () => {
        await api.close();
        await workers.shutdown().catch(() => undefined);
        await nats.stop();
        await temporal.stop();
      };
      try {
        if (opts.pipeline !== 'none') {
          const client = await connectClient(config);
          const input = planPipelineRun(catalog, opts.pipeline, { variables: {}, origin: { trigger: 'cli', requester: localRequester() } });
          const { runId } = await startPipelineRun(client, input);
          console.log(`\nrun ${runId} (pipeline ${opts.pipeline}) started`);
          console.log(`  Temporal Web: ${temporalWebLink(config, runId)}`);
          const outcome = await watchRun(client, runId, (line) => console.log(line));
          console.log(`  output:       ops logs ${runId}`);
          if (outcome.result.status !== 'succeeded') process.exitCode = ExitCode.runFailed;
        }
        const example = opts.pipeline === 'none' ? 'node-health' : opts.pipeline;
        console.log(`\nThe stack is up; Ctrl-C stops it. In another shell:\n  export TEMPORAL_ADDRESS=${temporal.address} OPS_NATS_URL=${nats.url}\n  ./bin/ops run -f examples/ --pipeline ${example} --watch`);
        console.log(`or through the API:\n  export OPS_SERVER=${api.url} OPS_TOKEN=<the admin token>\n  ./bin/ops apply -f examples/ && ./bin/ops run pipeline ${example} --watch`);
        await workers.done;
      } finally {
        await stopAll();
      }
    });
}
