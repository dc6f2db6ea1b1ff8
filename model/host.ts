import { z } from 'zod';
import { dnsLabel, dnsSubdomain, resourceSchema } from './meta';
import { LOCAL_CLUSTER } from './naming';

export const hostSpec = z
  .strictObject({
    /** Required for SSH; a `connection: local` host is the worker's own machine. */
    address: z.string().min(1, 'must not be empty').optional(),
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1).optional(),
    /** `local` runs steps on the worker's own machine, without SSH. */
    connection: z.enum(['ssh', 'local']).default('ssh'),
    cluster: dnsLabel.default(LOCAL_CLUSTER),
    /** Name of a credential the worker resolves from its own configuration; never the secret itself. */
    credentialRef: z.string().min(1).optional(),
    /** Expected host key: an OpenSSH fingerprint ("SHA256:…") or public key ("ssh-ed25519 AAAA…"). */
    hostKey: z
      .string()
      .regex(/^(SHA256:[A-Za-z0-9+/]{43}=?|(ssh|ecdsa|sk)-[^\s]+ [A-Za-z0-9+/=]+)(\s.*)?$/, 'must be "SHA256:<base64>" or "<type> <base64-key>"')
      .optional(),
    /** Accept and remember an unknown host key on first contact; a later change is still refused. */
    trustOnFirstUse: z.boolean().default(false),
    /** Name of another Host used as an SSH jump host. */
    bastion: dnsSubdomain.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.connection === 'ssh' && spec.address === undefined) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'is required for SSH hosts (a connection: local host needs none)' });
    }
    if (spec.connection === 'ssh' && !spec.hostKey && !spec.trustOnFirstUse) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostKey'],
        message: 'is required for SSH hosts (or set trustOnFirstUse: true to accept the key seen first)',
      });
    }
  });

export const hostSchema = resourceSchema('Host', dnsSubdomain, hostSpec);
export type Host = z.infer<typeof hostSchema>;
export type HostSpec = z.infer<typeof hostSpec>;
