/**
 * Replaces secret values with *** in a stream of text. It holds back the few characters that
 * could be the start of a secret split across two chunks.
 */
export const MASK = '***';

export class SecretMasker {
  private readonly secrets: string[];
  private readonly holdBack: number;
  private pending = '';

  constructor(secrets: ReadonlyArray<string>) {
    // Longest first, so a secret containing another is masked whole.
    this.secrets = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
    this.holdBack = Math.max(0, ...this.secrets.map((s) => s.length - 1));
  }

  /** Masks what can be decided now; keeps the rest for the next call. */
  push(text: string): string {
    if (this.secrets.length === 0) return text;
    const masked = mask(this.pending + text, this.secrets);
    const cut = Math.max(0, masked.length - this.holdBack);
    this.pending = masked.slice(cut);
    return masked.slice(0, cut);
  }

  flush(): string {
    const rest = mask(this.pending, this.secrets);
    this.pending = '';
    return rest;
  }
}

export function mask(text: string, secrets: ReadonlyArray<string>): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join(MASK);
  return out;
}
