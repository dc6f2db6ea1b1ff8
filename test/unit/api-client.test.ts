import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient } from '../../cli/api-client';
import { CliError } from '../../cli/exit-codes';

describe('ApiClient errors', () => {
  let server: Server;
  let answer: { status: number; body: unknown };
  let client: ApiClient;
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new ApiClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const failure = async () => {
    try {
      await client.get('/x');
    } catch (e) {
      return e as CliError;
    }
    throw new Error('no error');
  };

  it('lists each issue once, on its own line, with the exit code of the status', async () => {
    const issue = { document: 'Pipeline/p', path: 'variables.mode', message: '"x" is not one of: a, b' };
    answer = { status: 422, body: { error: 'Unprocessable Entity', message: `invalid: 1 problem(s): Pipeline/p: ${issue.path}: ${issue.message}`, issues: [issue] } };
    expect(await failure()).toMatchObject({ exitCode: 2, message: 'server answered 422: invalid input:\n  Pipeline/p: variables.mode: "x" is not one of: a, b' });
  });

  it('gives the message of a refusal for another reason, with its issues', async () => {
    const issue = { document: 'EventHook/h', path: 'spec.run.task', message: 'names Task "t"' };
    answer = { status: 409, body: { error: 'Conflict', message: 'Task/t is named by EventHook/h (spec.run.task): change or delete those first', issues: [issue] } };
    expect(await failure()).toMatchObject({
      exitCode: 2,
      message: 'server answered 409: Task/t is named by EventHook/h (spec.run.task): change or delete those first\n  EventHook/h: spec.run.task: names Task "t"',
    });
  });

  it('gives the message when there are no issues', async () => {
    answer = { status: 404, body: { error: 'Not Found', message: 'Pipeline/p is not defined' } };
    expect(await failure()).toMatchObject({ exitCode: 3, message: 'server answered 404: Pipeline/p is not defined' });
  });
});
