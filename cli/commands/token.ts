import type { Command } from 'commander';
import type { IssuedToken, TokenInfo } from '../../api/store/tokens';
import { encode, requireServer } from '../api-client';
import { outputFormat, printData, printTable } from '../output';

export function tokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens on the Ops server (admin)');
  token
    .command('create')
    .description('create a token; it is printed once, keep it')
    .requiredOption('--name <name>', 'who or what uses it (shows in the audit log)')
    .requiredOption('--role <role>', 'viewer, operator, approver or admin')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (opts: { name: string; role: string; output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const { body } = await requireServer(command).request<IssuedToken>('POST', '/api/v1/tokens', { name: opts.name, role: opts.role });
      if (format !== 'text') return printData(format, body);
      console.error(`token "${body.name}" (${body.role}) created; it is shown only now:`);
      console.log(body.token);
    });
  token
    .command('list')
    .description('tokens, without their secrets')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (opts: { output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const { items } = await requireServer(command).get<{ items: TokenInfo[] }>('/api/v1/tokens');
      if (format !== 'text') return printData(format, { items });
      printTable(['ID', 'NAME', 'ROLE', 'CREATED', 'BY', 'REVOKED'], items.map((t) => [t.id, t.name, t.role, t.createdAt, t.createdBy, t.revokedAt ?? '']));
    });
  token
    .command('revoke <name>')
    .description('revoke a token by name or id')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await requireServer(command).request('DELETE', `/api/v1/tokens/${encode(name)}`);
      console.log(`token ${name} revoked`);
    });
}
