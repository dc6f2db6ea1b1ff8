/**
 * Replaces secret values with *** in output. Each line of a multi-line secret (a key file) is a
 * secret of its own, so output split into lines is still masked.
 */
import { MASK } from '../model/variables';
import { shellQuote } from '../model/template';

export { MASK };

/** Secrets shorter than this are not masked line by line: they would hide ordinary text. */
const MIN_LINE_SECRET = 4;

export class SecretMasker {
  private readonly secrets: string[];
  private readonly longest: number;

  constructor(secrets: ReadonlyArray<string>) {
    const lines = secrets.flatMap((s) => (s.includes('\n') ? s.split('\n').map((l) => l.trim()).filter((l) => l.length >= MIN_LINE_SECRET) : []));
    // A shell that traces (`set -x`) prints a value holding `'` as 'pa'\''ss': that form is the secret too.
    const traced = secrets.filter((s) => s.includes("'")).map((s) => shellQuote(s).slice(1, -1));
    // Longest first, so a secret containing another is masked whole.
    this.secrets = [...new Set([...secrets, ...lines, ...traced].filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
    this.longest = Math.max(0, ...this.secrets.map((s) => s.length));
  }

  /** Masks text that is complete (no more text follows it in the same line). */
  all(text: string): string {
    return this.scan(text, text.length).masked;
  }

  /**
   * Masks the part of `text` that can be decided now: a secret may still start in its last
   * characters and end in text yet to come. Returns the masked part and the raw rest.
   */
  prefix(text: string): { masked: string; rest: string } {
    const { masked, end } = this.scan(text, text.length - (this.longest - 1));
    return { masked, rest: text.slice(end) };
  }

  /** Masks from the start until `limit`; a secret starting before `limit` is seen whole. */
  private scan(text: string, limit: number): { masked: string; end: number } {
    if (this.secrets.length === 0) return { masked: text.slice(0, Math.max(0, limit)), end: Math.max(0, limit) };
    let out = '';
    let i = 0;
    while (i < limit) {
      const secret = this.secrets.find((s) => text.startsWith(s, i));
      if (secret) {
        out += MASK;
        i += secret.length;
      } else {
        out += text[i];
        i += 1;
      }
    }
    return { masked: out, end: i };
  }
}

/** Masks complete text, such as an error message. */
export function mask(text: string, secrets: ReadonlyArray<string>): string {
  return new SecretMasker(secrets).all(text);
}
