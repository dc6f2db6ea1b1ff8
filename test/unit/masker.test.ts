import { spawnSync } from 'node:child_process';
import { shellQuote } from '../../model/template';
import { mask, MASK, SecretMasker } from '../../activities/masker';

/** Streams text through a masker as StepOutput does: decided prefixes now, the raw rest later. */
function streaming(secrets: string[]) {
  const masker = new SecretMasker(secrets);
  let pending = '';
  return {
    push(text: string): string {
      const { masked, rest } = masker.prefix(pending + text);
      pending = rest;
      return masked;
    },
    flush(): string {
      const out = masker.all(pending);
      pending = '';
      return out;
    },
  };
}

/** Feeds the chunks through a masker and returns everything it let out. */
function stream(secrets: string[], chunks: string[]): string {
  const m = streaming(secrets);
  return chunks.map((c) => m.push(c)).join('') + m.flush();
}

/** Every way to cut `text` into up to three chunks. */
function* splits(text: string): Generator<string[]> {
  for (let i = 0; i <= text.length; i += 1) {
    for (let j = i; j <= text.length; j += 1) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
}

describe('mask', () => {
  it('masks a secret with a quote in it as a tracing shell prints it too', () => {
    const secret = "pa'ss w$rd";
    const traced = spawnSync('bash', ['-xc', `printf '%s\\n' ${shellQuote(secret)}`], { encoding: 'utf8' });
    expect(traced.stderr).toContain(`'pa'\\''ss w$rd'`);
    const masker = new SecretMasker([secret]);
    expect([masker.all(traced.stdout), masker.all(traced.stderr)]).toEqual(['***\n', "+ printf '%s\\n' '***'\n"]);
  });

  it('replaces every occurrence of every secret', () => {
    expect(mask('user=admin pass=hunter2 again hunter2', ['hunter2', 'admin'])).toBe('user=*** pass=*** again ***');
    expect(MASK).toBe('***');
  });

  it('ignores empty secrets', () => {
    expect(mask('abc', [''])).toBe('abc');
  });
});

describe('SecretMasker', () => {
  it('passes text through unchanged when there are no secrets, at once', () => {
    const m = streaming([]);
    expect(m.push('hello ')).toBe('hello ');
    expect(m.push('world')).toBe('world');
    expect(m.flush()).toBe('');
  });

  it('treats empty secrets as no secrets (no endless masking, nothing held back)', () => {
    const m = streaming(['', '']);
    expect(m.push('abc')).toBe('abc');
    expect(m.flush()).toBe('');
    expect(stream(['', 'pw'], ['a pw b'])).toBe('a *** b');
  });

  it('masks a secret split at every position across two and three chunks', () => {
    const secret = 's3cr3t-T0ken';
    const text = `token: ${secret} and again ${secret}.`;
    const expected = `token: ${MASK} and again ${MASK}.`;
    let cases = 0;
    for (const chunks of splits(text)) {
      expect(stream([secret], chunks)).toBe(expected);
      cases += 1;
    }
    expect(cases).toBeGreaterThan(500);
  });

  it('masks a secret fed one character at a time', () => {
    const secret = 'correct horse battery staple';
    const text = `pw=${secret}\nok\n`;
    expect(stream([secret], [...text])).toBe(`pw=${MASK}\nok\n`);
  });

  it('masks a secret at the very end only on flush, never letting its start out early', () => {
    const m = streaming(['abcdef']);
    const first = m.push('xx abc');
    expect('xx abc'.startsWith(first)).toBe(true);
    expect(first).not.toContain('abc');
    const second = m.push('def');
    expect(first + second + m.flush()).toBe(`xx ${MASK}`);
  });

  it('releases text that cannot be part of a secret, holding back at most secret length - 1', () => {
    const m = streaming(['12345']);
    expect(m.push('abcdefgh')).toBe('abcd');
    expect(m.flush()).toBe('efgh');
  });

  it('masks a secret that contains another one whole, within a chunk', () => {
    expect(stream(['pass', 'password123'], ['my password123 and pass'])).toBe(`my ${MASK} and ${MASK}`);
  });

  it('masks a secret that contains another one whole, at every split', () => {
    expect(stream(['pass', 'password123'], ['x pass', 'word123 y'])).toBe(`x ${MASK} y`);
    for (const chunks of splits('x password123 y')) expect(stream(['pass', 'password123'], chunks)).toBe(`x ${MASK} y`);
  });

  it('leaves no secret visible when secrets overlap, at any split', () => {
    const secrets = ['abcd', 'cdef', 'efgh'];
    for (const chunks of splits('1abcdefgh2cdefgh3')) {
      const out = stream(secrets, chunks);
      for (const s of secrets) expect(out).not.toContain(s);
      expect(out.startsWith('1')).toBe(true);
      expect(out.endsWith('3')).toBe(true);
    }
  });

  it('masks repeated and self-overlapping secrets the same way at any split', () => {
    for (const [secret, text] of [
      ['aa', 'aaaaa'],
      ['abab', 'abababab'],
      ['xyx', 'xyxyxyx'],
    ]) {
      const whole = mask(text, [secret]);
      for (const chunks of splits(text)) expect(stream([secret], chunks)).toBe(whole);
    }
  });

  it('masks several secrets of different lengths in random chunkings', () => {
    const secrets = ['q7', 'token-42', 'Zm9vYmFyYmF6cXV4'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round += 1) {
      const parts = Array.from({ length: 8 }, () => (random() < 0.4 ? secrets[Math.floor(random() * secrets.length)] : 'abc \n'.slice(0, 1 + Math.floor(random() * 5))));
      const text = parts.join('');
      const chunks: string[] = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + Math.floor(random() * 6);
        chunks.push(text.slice(i, i + n));
        i += n;
      }
      const out = stream(secrets, chunks);
      expect(out).toBe(mask(text, [...secrets].sort((a, b) => b.length - a.length)));
      expect(out).not.toContain('token-42');
      expect(out).not.toContain('Zm9vYmFy');
    }
  });

  it('keeps multi-line secrets (keys) masked across lines', () => {
    const key = '-----BEGIN KEY-----\nAAAA\n-----END KEY-----';
    expect(stream([key], ['cat key\n-----BEGIN KEY-----\n', 'AAAA\n', '-----END KEY-----\ndone\n'])).toBe(`cat key\n${MASK}\ndone\n`);
  });
});
