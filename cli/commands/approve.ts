import type { Command } from 'commander';
import { describeWait, type ApprovalState } from '../../model/approval';
import { encode, requireServer } from '../api-client';
import { outputFormat, printData } from '../output';

interface ApproveOptions {
  stage?: string;
  reject?: boolean;
  comment?: string;
  output?: string;
}

/** `ops approve RUN`: decides an approval stage through the Ops server, as the CLI's token. */
export function approveCommand(program: Command): void {
  program
    .command('approve <run>')
    .description('approve the approval stage a pipeline run waits on (--reject to reject it); through the Ops server, as your token')
    .option('--stage <name>', 'the approval stage (default: the one stage that waits)')
    .option('--reject', 'reject: the run fails with this as its reason; its finally stages still run')
    .option('--comment <text>', 'why; kept in the run history and the audit log')
    .option('-o, --output <format>', 'json or yaml: print the stage after the decision')
    .action(async (run: string, opts: ApproveOptions, command: Command) => {
      const format = outputFormat(opts.output);
      const decision = { ...(opts.stage ? { stage: opts.stage } : {}), decision: opts.reject ? 'reject' : 'approve', ...(opts.comment ? { comment: opts.comment } : {}) };
      const { body } = await requireServer(command).request<ApprovalState>('POST', `/api/v1/pipelineruns/${encode(run)}/approvals`, decision);
      if (format !== 'text') return printData(format, body);
      console.log(`stage ${body.stage} of run ${run}: ${body.status === 'pending' ? describeWait(body) : body.reason}`);
    });
}
