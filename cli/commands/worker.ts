import type { Command } from 'commander';
import { LOCAL_CLUSTER } from '../../model/host';
import { configFrom } from '../context';

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: with no flags, the control worker and the built-in cluster "local"')
    .option('--cluster <name>', "run only this cluster's worker (its task queue ops.cluster.<name>)")
    .option('--control', 'run only the control worker (pipeline runs)')
    .option('--max-steps <n>', 'steps this worker runs at once', '500')
    .option('--health-port <port>', 'serve /healthz and /readyz on this port (for Kubernetes probes)')
    .action(async (opts: { cluster?: string; control?: boolean; maxSteps: string; healthPort?: string }, command: Command) => {
      // Loaded here, not at start-up: `ops run` should not pay for the worker and server.
      const { startWorkers } = await import('../../workers/worker');
      const { serveWorkerHealth } = await import('../../workers/health');
      const both = !opts.cluster && !opts.control;
      const workers = await startWorkers(configFrom(command), {
        control: both || Boolean(opts.control),
        cluster: both ? LOCAL_CLUSTER : opts.cluster,
        maxActivities: Number(opts.maxSteps),
      });
      console.error(`worker ${workers.identity} polling${both || opts.control ? ' ops.control' : ''}${both || opts.cluster ? ` ops.cluster.${both ? LOCAL_CLUSTER : opts.cluster}` : ''}`);
      const health = opts.healthPort ? await serveWorkerHealth(Number(opts.healthPort), workers.states) : undefined;
      await workers.done;
      health?.close();
    });
}
