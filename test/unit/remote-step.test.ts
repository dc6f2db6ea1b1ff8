/**
 * The step wrapper (activities/remote-step.ts) and the step helper that runs first attempts in its
 * place on SSH hosts (activities/ssh/step-helper.ts, built by `npm run build`), run by a real /bin/sh
 * through LocalSession. Every run uses a temporary HOME, so step records land in a temp `~/.ops/steps`.
 * (Jest gives each test file a copy of process.env, which child_process.spawn does not see, so the
 * temporary HOME is set on the command line: `HOME=… sh -c '<wrapper>'`.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSession } from '../../activities/local/session';
import { CONTROL_PREFIX, isPlainCommand, killCommand, pruneCommand, stepKey, wrapperCommand } from '../../activities/remote-step';
import { HELPER_BINARY, HELPER_STARTED, StepHelper } from '../../activities/ssh/step-helper';
import type { HostSession } from '../../activities/host-session';
import type { HostTarget } from '../../model/run';
import { shellQuote } from '../../model/template';

let home: string;
const started: number[] = [];
const session = new LocalSession();
const marker = `${process.pid}${Date.now() % 100000}`;

const host = { name: 'h', address: '127.0.0.1', port: 22, connection: 'ssh', cluster: 'local', trustOnFirstUse: false, labels: {} } as HostTarget;
const helper = StepHelper.load(HELPER_BINARY, { installDelayMs: 0 });

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ops-home-'));
  if (!helper) throw new Error(`no step helper at ${HELPER_BINARY}: run npm run build (it needs musl-gcc or cc)`);
  // Installed as a worker installs it on a host whose wrapper said it was missing.
  const inHome: HostSession = { exec: (command, io) => session.exec(underHome(command), io), upload: () => Promise.reject(new Error('unused')), download: () => Promise.reject(new Error('unused')) };
  helper.observe(host, false, async () => ({ session: inHome, release: () => undefined }));
  await waitFor(() => existsSync(join(home, '.ops', 'bin', helper.name)));
});

afterAll(() => {
  // Only processes these tests started, by pid.
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  rmSync(home, { recursive: true, force: true });
});

const underHome = (command: string) => `HOME=${shellQuote(home)} ${command}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

type Via = 'wrapper' | 'helper';

function run(
  key: string,
  script: string,
  { timeoutSeconds = 30, onStdout, pathFirst, via = 'wrapper' }: { timeoutSeconds?: number; onStdout?: (text: string) => void; pathFirst?: string; via?: Via } = {},
): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const t0 = Date.now();
  const options = { key, timeoutSeconds, sudo: false, script };
  // The helper's command starts with `exec ~/…`, read by a shell that has the temporary HOME.
  const command = underHome(via === 'wrapper' ? wrapperCommand(options) : `sh -c ${shellQuote(helper?.command(host, options) ?? 'exit 99')}`);
  return session
    .exec(pathFirst ? `PATH=${shellQuote(pathFirst)}:"$PATH" ${command}` : command, {
      stdin: script,
      onStdout: (c) => {
        out.push(c);
        onStdout?.(Buffer.concat(out).toString());
      },
      onStderr: (c) => err.push(c),
    })
    .then(({ code }) => {
      const stderr = Buffer.concat(err);
      // The worker takes the helper's first words as its sign of life, not as the step's output.
      if (via === 'helper' && !stderr.subarray(0, HELPER_STARTED.length).equals(HELPER_STARTED)) throw new Error(`the helper did not start: ${stderr.toString()}`);
      return { code, stdout: Buffer.concat(out).toString(), stderr: stderr.subarray(via === 'helper' ? HELPER_STARTED.length : 0).toString(), ms: Date.now() - t0 };
    });
}

const kill = (key: string) => session.exec(underHome(killCommand({ key, sudo: false })), {});

/** Pids of live processes whose command line contains the text (zombies have none). */
function pgrep(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function waitFor(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const counter = (name: string) => `echo run >> "$HOME/${name}"\n`;
const count = (name: string) => (existsSync(join(home, name)) ? readFileSync(join(home, name), 'utf8').split('\n').filter(Boolean).length : 0);

describe('stepKey and shellQuote', () => {
  it('makes keys safe as one directory name', () => {
    expect(stepKey('run/1 2', 'act;rm -rf')).toBe('run_1_2-act_rm_-rf');
    expect(stepKey('a.b', 'c_d-1')).toBe('a.b-c_d-1');
  });

  it('quotes any value for sh', () => {
    for (const value of ["it's", '$(touch x) `id` "$HOME"', 'a\nb', '']) {
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' })).toBe(value);
    }
  });
});

describe('isPlainCommand', () => {
  it('is one line of literal words naming a program', () => {
    for (const script of ['uptime', 'uptime\n', 'systemctl restart nginx', 'df -h /var', 'deploy.sh --to=prod', 'curl -fsS http://127.0.0.1:8080/health', 'chown app:app /srv/app']) {
      expect([script, isPlainCommand(script)]).toEqual([script, true]);
    }
  });

  it('is not anything bash would do more with than run the program', () => {
    const needBash = [
      ...['', 'uptime\n\n', 'echo hi\nuptime', 'uptime ', ' uptime', 'df  -h', 'df\t-h'],
      ...['echo $HOME', 'ls *.log', 'ls log?', 'ls [ab]', 'ls {a,b}', 'ls ~/x', "grep 'a b' f", 'grep "a" f', 'grep a\\ b f'],
      ...['uptime | cat', 'uptime > out', 'uptime < in', 'sleep 1 &', 'a && b', 'a; b', 'uptime # note', '(uptime)', '! uptime', 'echo `id`'],
      ...['FOO=1 env', '-x', 'echo hi', 'exit 3', 'cd /tmp', 'true', 'kill 1', 'time sleep 1', '. ./env', ': nothing', 'exec uptime', 'test -f x', 'printf x'],
      // A path may name a script without a #! line, which bash runs itself and exec would give to /bin/sh.
      ...['./deploy.sh', '/usr/bin/env', 'bin/tool --x'],
    ];
    for (const script of needBash) expect([script, isPlainCommand(script)]).toEqual([script, false]);
  });
});

describe.each<Via>(['wrapper', 'helper'])('a step run by the %s on a local shell', (via) => {
  const go = (key: string, script: string, options: Parameters<typeof run>[2] = {}) => run(`${via}-${key}`, script, { ...options, via });
  // What runs a plain command: the wrapper's `timeout`, or the helper itself (its name cut to 15 characters).
  const parentOfPlain = via === 'wrapper' ? 'timeout' : (helper?.name ?? '').slice(0, 15);

    it('streams the output back and exits with the script\'s exit code', async () => {
      let firstSeenAt = 0;
      const t0 = Date.now();
      const r = await go('stream-1', 'echo first\necho to-stderr >&2\nsleep 0.8\necho second\nexit 7\n', {
        onStdout: (text) => {
          if (!firstSeenAt && text.includes('first')) firstSeenAt = Date.now() - t0;
        },
      });
      expect(r.code).toBe(7);
      expect(r.stdout).toBe('first\nsecond\n');
      expect(r.stderr).toBe('to-stderr\n');
      expect(firstSeenAt).toBeGreaterThan(0);
      expect(r.ms - firstSeenAt).toBeGreaterThan(500); // "first" arrived while the script still ran
    });

    it('passes the script on stdin, untouched by the outer shell', async () => {
      const r = await go('stdin-1', "x='$HOME `id` $(false)'\nprintf '%s\\n' \"$x\"\n");
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('$HOME `id` $(false)\n');
    });

    it('runs the whole script: a last line without a newline, leading blanks and backslashes, thousands of lines', async () => {
      const short = await go('stdin-2', "  printf '%s|' 'a\\\\b'\n\techo ' last'");
      expect(short).toMatchObject({ code: 0, stdout: 'a\\\\b| last\n' });
      const lines = Array.from({ length: 3000 }, (_, i) => `n=${i}`).join('\n');
      const long = await go('stdin-3', `${lines}\necho "$n"\n`);
      expect(long).toMatchObject({ code: 0, stdout: '2999\n' });
    });

    it('keeps step records private to the user, and empties the script once it ran', async () => {
      await go('private-1', 'echo secret-output\n');
      const steps = join(home, '.ops', 'steps');
      expect(execFileSync('stat', ['-c', '%a', steps], { encoding: 'utf8' }).trim()).toBe('700');
      const records = readdirSync(steps).filter((f) => f.startsWith(`${via}-private-1.`)).sort();
      expect(records).toEqual(['err', 'exit', 'out', 'script', 'sid'].map((e) => `${via}-private-1.${e}`));
      expect(readFileSync(join(steps, `${via}-private-1.script`), 'utf8')).toBe('');
      for (const f of records) expect(execFileSync('stat', ['-c', '%a', join(steps, f)], { encoding: 'utf8' }).trim()).toBe('600');
    });

    it('runs a script with a shebang with its interpreter', async () => {
      const r = await go('shebang-node', '#!/usr/bin/env node\nconst x = [1, 2, 3].map((n) => n * 2);\nconsole.log("node says", x.join(","));\nprocess.exit(4);\n');
      expect(r.stdout).toBe('node says 2,4,6\n');
      expect(r.code).toBe(4);
    });

    it('does not add -e to a shebang script: its interpreter decides', async () => {
      const r = await go('shebang-sh', '#!/bin/sh\nfalse\necho still here\n');
      expect(r).toMatchObject({ code: 0, stdout: 'still here\n' });
    });

    it('without a shebang, a failing command stops the script (bash -e)', async () => {
      const r = await go('errexit-1', 'echo one\nfalse\necho two\n');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('one\n');
    });

    it('without a shebang, a failing command in a pipeline stops the script (pipefail)', async () => {
      const r = await go('pipefail-1', 'echo one\n(exit 3) | cat\necho two\n');
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('one\n');
    });

    it('runs bash without profile files (bash syntax works, ~/.bashrc is not read)', async () => {
      writeFileSync(join(home, '.bashrc'), 'echo from-bashrc\n');
      writeFileSync(join(home, '.bash_profile'), 'echo from-profile\n');
      const r = await go('bash-1', 'arr=(a b c)\necho "${#arr[@]} ${arr[1]}"\n');
      expect(r).toMatchObject({ code: 0, stdout: '3 b\n' });
    });

    it('runs a plain command as its own program, with the same output and exit codes', async () => {
      writeFileSync(join(home, 'parent.sh'), 'echo out\necho err >&2\nps -o comm= -p $PPID\nexit 3\n');
      const viaBash = await go('plain-0', `sh ${home}/parent.sh # under bash`);
      expect(viaBash).toMatchObject({ code: 3, stdout: 'out\nbash\n', stderr: 'err\n' });
      const plain = await go('plain-1', `sh ${home}/parent.sh`);
      expect(plain).toMatchObject({ code: 3, stdout: `out\n${parentOfPlain}\n`, stderr: 'err\n' });
      expect((await go('plain-2', 'no-such-program-ops')).code).toBe(127);
      expect((await go('plain-3', 'no-such-program-ops # under bash')).code).toBe(127);
    });

    it('a plain command found outside the system directories runs under bash, which runs a script without #! itself', async () => {
      const bin = join(home, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'ops-no-shebang'), 'words=(a b)\necho "${#words[@]} $(ps -o comm= -p $PPID)"\n', { mode: 0o755 });
      const r = await go('plain-local-script', 'ops-no-shebang', { pathFirst: bin });
      expect(r).toMatchObject({ code: 0, stdout: '2 bash\n', stderr: '' });
    });

    it('timeoutSeconds kills a plain command', async () => {
      const r = await go('plain-timeout', `sleep ${marker}6.5`, { timeoutSeconds: 1 });
      expect([124, 137]).toContain(r.code);
      expect(r.ms).toBeLessThan(8000);
      started.push(...pgrep(`sleep ${marker}6.5`));
      expect(pgrep(`sleep ${marker}6.5`)).toEqual([]);
    });

    it('timeoutSeconds kills the script and its children', async () => {
      const bg = `${marker}1.5`;
      const fg = `${marker}2.5`;
      let seenRunning = 0;
      const r = await go('timeout-1', `sleep ${bg} &\necho started\nsleep ${fg}\necho not reached\n`, {
        timeoutSeconds: 1,
        onStdout: () => (seenRunning = pgrep(`sleep ${bg}`).length),
      });
      expect(seenRunning).toBe(1);
      expect([124, 137]).toContain(r.code);
      expect(r.stdout).toBe('started\n');
      expect(r.ms).toBeLessThan(8000);
      await waitFor(() => pgrep(`sleep ${bg}`).length === 0 && pgrep(`sleep ${fg}`).length === 0, 3000).catch(() => undefined);
      started.push(...pgrep(`sleep ${bg}`), ...pgrep(`sleep ${fg}`));
      expect(pgrep(`sleep ${bg}`)).toEqual([]);
      expect(pgrep(`sleep ${fg}`)).toEqual([]);
    });

    it('killCommand kills a running step\'s whole session, background processes included', async () => {
      const bg = `${marker}3.5`;
      const fg = `${marker}4.5`;
      let ready = false;
      const running = go('kill-1', `sleep ${bg} &\nsleep ${fg} &\necho started\nwait\necho not reached\n`, { onStdout: (t) => (ready = t.includes('started')) });
      await waitFor(() => ready);
      await waitFor(() => pgrep(`sleep ${bg}`).length === 1 && pgrep(`sleep ${fg}`).length === 1);
      const t0 = Date.now();
      const killed = await kill(`${via}-kill-1`);
      expect(killed.code).toBe(0);
      const r = await running;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain('not reached');
      started.push(...pgrep(`sleep ${bg}`), ...pgrep(`sleep ${fg}`));
      expect(pgrep(`sleep ${bg}`)).toEqual([]);
      expect(pgrep(`sleep ${fg}`)).toEqual([]);
    });
});

describe('retries: the wrapper replays or attaches, and never runs a step twice', () => {
  it('does not run a step twice: the same key replays exit code and output', async () => {
    const script = `${counter('replay-count')}echo hello\necho oops >&2\nexit 3\n`;
    const first = await run('replay-1', script);
    expect(first).toMatchObject({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
    const second = await run('replay-1', script);
    expect(count('replay-count')).toBe(1);
    expect(second.code).toBe(3);
    expect(second.stdout).toBe('hello\n');
    expect(second.stderr).toMatch(new RegExp(`^${CONTROL_PREFIX}replayed\noops\n${CONTROL_PREFIX}ran [01]\n$`));
    const other = await run('replay-2', script);
    expect(count('replay-count')).toBe(2);
    expect(other.stderr).not.toContain(CONTROL_PREFIX);
  });

  it('replays a successful step as a success', async () => {
    const script = `${counter('ok-count')}echo done\n`;
    await run('replay-ok', script);
    const again = await run('replay-ok', script);
    expect(again).toMatchObject({ code: 0, stdout: 'done\n' });
    expect(again.stderr).toContain(`${CONTROL_PREFIX}replayed`);
    expect(count('ok-count')).toBe(1);
  });

  it('attaches to a step still running under the same key instead of starting it again', async () => {
    const script = `${counter('attach-count')}echo a\nsleep 1\necho b\nexit 5\n`;
    let sawA = false;
    const first = run('attach-1', script, { onStdout: (t) => (sawA = t.includes('a')) });
    await waitFor(() => sawA);
    const second = await run('attach-1', script);
    expect(second.code).toBe(5);
    expect(second.stdout).toBe('a\nb\n');
    expect(second.stderr).toContain(`${CONTROL_PREFIX}attached`);
    expect((await first).code).toBe(5);
    expect(count('attach-count')).toBe(1);
  });

  it('says how long the step ran on the host when it replays or attaches: a timeout that ended while no attempt watched is still told apart from an exit code 124', async () => {
    const script = `sleep ${marker}7.5\n`;
    const first = run('ran-1', script, { timeoutSeconds: 2 });
    await waitFor(() => pgrep(`${marker}7.5`).length > 0);
    const attached = await run('ran-1', script);
    expect([124, 137]).toContain(attached.code);
    expect(attached.stderr).toContain(`${CONTROL_PREFIX}attached`);
    expect(attached.stderr).toMatch(new RegExp(`${CONTROL_PREFIX}ran [23]\n`));
    await first;
    const replayed = await run('ran-1', script);
    expect(replayed.stderr).toMatch(new RegExp(`${CONTROL_PREFIX}replayed\n${CONTROL_PREFIX}ran [23]\n`));
  });

  it('says interrupted, and does not run the script, when a recorded step died without an exit status', async () => {
    const steps = join(home, '.ops', 'steps');
    mkdirSync(steps, { recursive: true });
    writeFileSync(join(steps, 'dead-1.script'), 'echo earlier\n');
    writeFileSync(join(steps, 'dead-1.sid'), '2147483646\n');
    const r = await run('dead-1', `${counter('dead-count')}echo never\n`);
    expect(r.code).toBe(255);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${CONTROL_PREFIX}interrupted`);
    expect(count('dead-count')).toBe(0);
  });

  it('a plain command runs once: its retry replays the recorded outcome', async () => {
    const first = await run('plain-once', `touch ${home}/plain-ran-${marker}`);
    rmSync(join(home, `plain-ran-${marker}`));
    const retry = await run('plain-once', `touch ${home}/plain-ran-${marker}`);
    expect([first.code, retry.code]).toEqual([0, 0]);
    expect(retry.stderr).toContain(`${CONTROL_PREFIX}replayed`);
    expect(existsSync(join(home, `plain-ran-${marker}`))).toBe(false);
  });

  it('killCommand for a step that never started does nothing and succeeds', async () => {
    expect((await kill('never-started')).code).toBe(0);
  });

  it('replays a step the helper ran instead of running it again', async () => {
    const script = `${counter('helper-replay-count')}echo hello\necho oops >&2\nexit 3\n`;
    const first = await run('helper-replay', script, { via: 'helper' });
    expect(first).toMatchObject({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
    const retry = await run('helper-replay', script);
    expect(retry).toMatchObject({ code: 3, stdout: 'hello\n' });
    expect(retry.stderr).toMatch(new RegExp(`^${CONTROL_PREFIX}replayed\noops\n${CONTROL_PREFIX}ran [01]\n$`));
    expect(count('helper-replay-count')).toBe(1);
  });

  it('attaches to a step the helper still runs', async () => {
    const script = `${counter('helper-attach-count')}echo a\nsleep 1\necho b\nexit 5\n`;
    let sawA = false;
    const first = run('helper-attach', script, { via: 'helper', onStdout: (t) => (sawA = t.includes('a')) });
    await waitFor(() => sawA);
    const retry = await run('helper-attach', script);
    expect(retry).toMatchObject({ code: 5, stdout: 'a\nb\n' });
    expect(retry.stderr).toContain(`${CONTROL_PREFIX}attached`);
    expect((await first).code).toBe(5);
    expect(count('helper-attach-count')).toBe(1);
  });

  it('the helper runs nothing for a step already recorded, and says so: the wrapper takes it', async () => {
    const script = `${counter('helper-twice-count')}echo once\n`;
    await run('helper-twice', script);
    const again = await run('helper-twice', script, { via: 'helper' });
    expect(again).toMatchObject({ code: 255, stdout: '', stderr: `${CONTROL_PREFIX}recorded\n` });
    expect(count('helper-twice-count')).toBe(1);
  });

  it('a step the helper runs outlives a closed channel and records its whole output and exit status', async () => {
    const steps = join(home, '.ops', 'steps');
    const key = 'helper-hangup';
    // Nobody reads the channel (stdout and stderr) from the start, as after a dropped connection.
    const script = 'echo one\nsleep 0.3\necho two\necho three >&2\nexit 4\n';
    const command = `sh -c ${shellQuote(`${helper?.command(host, { key, timeoutSeconds: 30, sudo: false, script }) ?? 'exit 99'} 2>&1 | true`)}`;
    await session.exec(underHome(command), { stdin: script });
    await waitFor(() => existsSync(join(steps, `${key}.exit`)) && readFileSync(join(steps, `${key}.exit`), 'utf8') !== '');
    expect(readFileSync(join(steps, `${key}.exit`), 'utf8')).toBe('4\n');
    expect(readFileSync(join(steps, `${key}.out`), 'utf8')).toBe('one\ntwo\n');
    expect(readFileSync(join(steps, `${key}.err`), 'utf8')).toBe('three\n');
  });

  it('the wrapper says whether the host has the helper it was told of', async () => {
    const stderrOf = async (key: string, name: string) => {
      const err: Buffer[] = [];
      await session.exec(underHome(wrapperCommand({ key, timeoutSeconds: 5, sudo: false, script: 'true', helper: name })), { stdin: 'true', onStderr: (c) => err.push(c) });
      return Buffer.concat(err).toString();
    };
    expect(await stderrOf('present-1', helper?.name ?? '')).toBe(`${CONTROL_PREFIX}helper-present\n`);
    expect(await stderrOf('present-2', 'ops-step-000000000000')).toBe('');
  });

  it('pruning removes step records older than a day and helper builds installed over a month ago, and keeps the rest', async () => {
    const steps = join(home, '.ops', 'steps');
    const bin = join(home, '.ops', 'bin');
    mkdirSync(steps, { recursive: true });
    mkdirSync(bin, { recursive: true });
    for (const f of ['old-step.exit', 'new-step.exit']) writeFileSync(join(steps, f), '0\n');
    for (const f of ['ops-step-000000000old', 'ops-step-000000000new']) writeFileSync(join(bin, f), '');
    execFileSync('touch', ['-d', '2 days ago', join(steps, 'old-step.exit')]);
    execFileSync('touch', ['-d', '40 days ago', join(bin, 'ops-step-000000000old')]);
    expect((await session.exec(underHome(`sh -c ${shellQuote(pruneCommand())}`), {})).code).toBe(0);
    expect(existsSync(join(steps, 'old-step.exit'))).toBe(false);
    expect(existsSync(join(bin, 'ops-step-000000000old'))).toBe(false);
    expect(existsSync(join(steps, 'new-step.exit'))).toBe(true);
    expect(existsSync(join(bin, 'ops-step-000000000new'))).toBe(true);
    expect(existsSync(join(bin, helper?.name ?? 'none'))).toBe(true);
  });
});
