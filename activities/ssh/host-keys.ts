import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostTarget } from '../../model/run';

/** OpenSSH's fingerprint form: "SHA256:" and the unpadded base64 of the key blob's digest. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The fingerprint a Host's `hostKey` expects, whether given as a fingerprint or a public key line. */
export function expectedFingerprint(hostKey: string): string {
  const trimmed = hostKey.trim();
  if (trimmed.startsWith('SHA256:')) return trimmed.split(/\s/)[0].replace(/=+$/, '');
  return fingerprint(Buffer.from(trimmed.split(/\s+/)[1], 'base64'));
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Keys first seen on hosts that trust on first use, kept by the worker (like known_hosts).
 * A later, different key is refused.
 */
export class KnownHosts {
  private readonly keys: Record<string, string>;

  constructor(private readonly file: string) {
    try {
      this.keys = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      this.keys = {};
    }
  }

  verify(target: HostTarget, presented: Buffer): HostKeyVerdict {
    const seen = fingerprint(presented);
    const where = `${target.name} (${target.address}:${target.port})`;
    if (target.hostKey) {
      const expected = expectedFingerprint(target.hostKey);
      if (seen === expected) return { ok: true };
      return { ok: false, reason: `host key of ${where} is ${seen} but spec.hostKey expects ${expected}; refusing to connect (if the host was rebuilt, update spec.hostKey)` };
    }
    if (!target.trustOnFirstUse) return { ok: false, reason: `${where} has no spec.hostKey and does not trust on first use; refusing key ${seen}` };
    const id = `${target.address}:${target.port}`;
    const known = this.keys[id];
    if (known === undefined) {
      this.remember(id, seen);
      return { ok: true };
    }
    if (known === seen) return { ok: true };
    return { ok: false, reason: `host key of ${where} changed from ${known} (trusted on first use) to ${seen}; refusing to connect (remove it from ${this.file} if the change is expected)` };
  }

  private remember(id: string, key: string): void {
    this.keys[id] = key;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.keys, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
