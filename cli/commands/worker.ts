import type { Command } from 'commander';
import { LOCAL_CLUSTER } from '../../model/naming';
import { configFrom, wholeNumber } from '../context';

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker: with no flags, the control worker and the built-in cluster "local"')
    .option('--cluster <name>', "run only this cluster's worker (its task queue ops.cluster.<name>)")
    .option('--control', 'run only the control worker (pipeline runs)')
    .option('--max-steps <n>', 'steps this worker runs at once', wholeNumber(1), 500)
    .option('--ssh-idle-seconds <n>', 'how long an SSH connection nobody uses stays open', wholeNumber(1), 300)
    .option('--eager-steps <n>', "steps a task run's workflow task hands straight to this worker (where the server allows eager activities); 0 spreads every step through the task queue", wholeNumber(0), 250)
    .option('--health-port <port>', 'serve /healthz and /readyz on this port (for Kubernetes probes)')
    .action(async (opts: { cluster?: string; control?: boolean; maxSteps: number; sshIdleSeconds: number; eagerSteps: number; healthPort?: string }, command: Command) => {
      // Loaded here, not at start-up: `ops run` should not pay for the worker and server.
      const { startWorkers } = await import('../../workers/worker');
      const { serveWorkerHealth } = await import('../../workers/health');
      const both = !opts.cluster && !opts.control;
      const workers = await startWorkers(configFrom(command), {
        control: both || Boolean(opts.control),
        cluster: both ? LOCAL_CLUSTER : opts.cluster,
        maxActivities: opts.maxSteps,
        sshIdleSeconds: opts.sshIdleSeconds,
        eagerSteps: opts.eagerSteps,
      });
      console.error(`worker ${workers.identity} polling${both || opts.control ? ' ops.control' : ''}${both || opts.cluster ? ` ops.cluster.${both ? LOCAL_CLUSTER : opts.cluster}` : ''}`);
      const health = opts.healthPort ? await serveWorkerHealth(Number(opts.healthPort), workers.states) : undefined;
      await workers.done;
      health?.close();
      console.error(`worker ${workers.identity} stopped`);
    });
}
