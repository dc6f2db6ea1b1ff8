/**
 * The CLI loads only the module of the verb it runs (cli/main.ts): the table of verbs must name
 * exactly the commands each module adds, or a verb would be missing when run on its own.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildProgram, COMMANDS, verbOf } from '../../cli/main';

const names = async (verb?: string) => (await buildProgram(verb)).commands.map((c) => c.name()).sort();

describe('the CLI command table', () => {
  it.each(COMMANDS.map((c) => [c.verbs.join(', '), c.verbs]))('each verb of %s loads the module that adds exactly those commands', async (_, verbs) => {
    for (const verb of verbs as string[]) expect(await names(verb)).toEqual([...(verbs as string[])].sort());
  });

  it('without a known verb (help, flags first, a typo) every command is there, each once', async () => {
    const all = COMMANDS.flatMap((c) => c.verbs).sort();
    expect(new Set(all).size).toBe(all.length);
    for (const argv2 of [undefined, '--help', '--address', 'runn']) expect(await names(argv2)).toEqual(all);
  });

  it('finds the verb after the global options, so only its module loads', () => {
    const verb = (...args: string[]) => verbOf(['node', 'ops', ...args]);
    expect(verb('run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address', '127.0.0.1:7233', 'run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address=127.0.0.1:7233', '--nats', 'off', 'logs', 'r1')).toBe('logs');
    expect(verb('--namespace', 'run', 'get', 'runs')).toBe('get'); // a value that looks like a verb is still a value
    expect(verb('--help')).toBeUndefined();
    expect(verb('--address', 'x:1', '--help')).toBeUndefined();
    expect(verb('--bogus', 'run')).toBeUndefined();
    expect(verb()).toBeUndefined();
  });
});

describe('ops as a program', () => {
  it('ends quietly with 141 when its reader goes away (ops logs RUN | head), not with an EPIPE stack trace', async () => {
    const child = spawn(join(__dirname, '..', '..', 'bin', 'ops'), ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 141, stderr: '' });
  });
});
