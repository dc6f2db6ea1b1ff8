import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../model/errors';
import { zodIssues } from '../model/resources';

/**
 * Credentials live only with the worker that uses them: a Host names one (`credentialRef`) and
 * the worker resolves it from its own file. The file never travels through Temporal.
 */
const credentialSchema = z.strictObject({
  username: z.string().optional(),
  privateKeyFile: z.string().optional(),
  passphraseFile: z.string().optional(),
  passwordFile: z.string().optional(),
  passwordEnv: z.string().optional(),
  /** Use the ssh-agent at SSH_AUTH_SOCK. */
  agent: z.boolean().optional(),
  /** For a Cluster's kubeconfigRef: the kubeconfig file and, optionally, its context. */
  kubeconfigFile: z.string().optional(),
  context: z.string().optional(),
  /** For an EventHook's secretRef (on the server): the key its webhook requests are signed with. */
  secretFile: z.string().optional(),
  secretEnv: z.string().optional(),
});

const credentialsFileSchema = z.strictObject({
  /** Used for hosts without a credentialRef. */
  default: z.string().optional(),
  credentials: z.record(z.string(), credentialSchema).default({}),
});

export interface SshAuth {
  username: string;
  privateKey?: Buffer;
  passphrase?: string;
  password?: string;
  agent?: string;
}

/** The file as last read, and when it was changed then. */
type Loaded = { config: z.infer<typeof credentialsFileSchema>; changedMs: number };

export class CredentialStore {
  private constructor(
    private loaded: Loaded,
    private readonly file: string,
  ) {}

  /** A missing file means no named credentials: hosts then use the agent or ~/.ssh keys. */
  static load(file: string): CredentialStore {
    return new CredentialStore(readCredentials(file), file);
  }

  /**
   * The file is read again when it changes, so a credential added or rotated needs no restart;
   * a change that does not parse is an error until it is fixed (the worker never falls back).
   */
  private get config(): Loaded['config'] {
    if (changedMs(this.file) !== this.loaded.changedMs) this.loaded = readCredentials(this.file);
    return this.loaded.config;
  }

  /** Resolves a reference; an unknown reference is an error, never a silent fallback. */
  resolve(ref: string | undefined, username: string | undefined): SshAuth {
    const config = this.config;
    const name = ref ?? config.default;
    if (name === undefined) return defaultAuth(username);
    const c = config.credentials[name];
    if (!c) throw new Error(`credential "${name}" is not configured on this worker (${this.file})`);
    const password = c.passwordFile ? readFileSync(c.passwordFile, 'utf8').replace(/\r?\n$/, '') : c.passwordEnv ? process.env[c.passwordEnv] : undefined;
    if (c.passwordEnv && password === undefined) throw new Error(`credential "${name}": environment variable ${c.passwordEnv} is not set on this worker`);
    return {
      username: username ?? c.username ?? userInfo().username,
      privateKey: c.privateKeyFile ? readFileSync(c.privateKeyFile) : undefined,
      passphrase: c.passphraseFile ? readFileSync(c.passphraseFile, 'utf8').trim() : undefined,
      password,
      agent: c.agent ? process.env.SSH_AUTH_SOCK : undefined,
    };
  }

  /** Names of the kubeconfigs this worker holds. */
  kubeconfigRefs(): string[] {
    return Object.entries(this.config.credentials).flatMap(([name, c]) => (c.kubeconfigFile ? [name] : []));
  }

  /**
   * Resolves a Cluster's kubeconfigRef; without one the worker's own cluster (in-cluster service
   * account, else KUBECONFIG or ~/.kube/config) is meant, and undefined says so.
   */
  kubeconfig(ref: string | undefined): KubeconfigLocation | undefined {
    if (ref === undefined) return undefined;
    const c = this.config.credentials[ref];
    if (!c?.kubeconfigFile) throw new Error(`kubeconfig "${ref}" is not configured on this worker (${this.file}: credentials.${ref}.kubeconfigFile)`);
    return { file: c.kubeconfigFile, ...(c.context ? { context: c.context } : {}) };
  }

  /** Resolves a secret by name (secretFile or secretEnv), e.g. the key an EventHook signs webhooks with. */
  secret(ref: string): string {
    const c = this.config.credentials[ref];
    const value = c?.secretFile ? readFileSync(c.secretFile, 'utf8').replace(/\r?\n$/, '') : c?.secretEnv ? process.env[c.secretEnv] : undefined;
    if (value === undefined) throw new Error(`secret "${ref}" is not configured on this server (${this.file}: credentials.${ref}.secretFile or secretEnv)`);
    return value;
  }
}

export interface KubeconfigLocation {
  file: string;
  context?: string;
}

/** Like `ssh`: the agent if there is one, else the user's usual key files. */
function defaultAuth(username: string | undefined): SshAuth {
  const keyFile = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)).find((f) => existsSync(f));
  return {
    username: username ?? userInfo().username,
    agent: process.env.SSH_AUTH_SOCK,
    privateKey: keyFile ? readFileSync(keyFile) : undefined,
  };
}

function changedMs(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

function readCredentials(file: string): Loaded {
  const changed = changedMs(file);
  if (!changed) return { config: { credentials: {} }, changedMs: 0 };
  const parsed = credentialsFileSchema.safeParse(parse(readFileSync(file, 'utf8')) ?? {});
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error).map((i) => ({ ...i, file })));
  return { config: parsed.data, changedMs: changed };
}
