import { z } from 'zod';
import { dnsLabel, identifier } from './meta';
import { ROLES, type Role } from './roles';

/** An approval stage of a pipeline (model/approval.ts has the rules decisions follow). */
export const approvalSpec = z
  .strictObject({
    /** What the approvers are asked; `${…}` may name pipeline variables, run.id and earlier results. */
    message: z.string().min(1, 'must not be empty'),
    /** Who may decide: tokens with one of these roles (or a higher one), or these token names. Default: role approver. */
    approvers: z
      .strictObject({
        roles: z.array(z.enum(ROLES)).default([]),
        tokens: z.array(dnsLabel).default([]),
      })
      .prefault({}),
    /** Approvals needed, each from a different token; one rejection rejects. */
    required: z.number().int().min(1).max(20).default(1),
    timeoutSeconds: z.number().int().min(1).max(30 * 24 * 3600).default(24 * 3600),
    /** What happens when nobody decided in time. */
    onTimeout: z.enum(['reject', 'approve']).default('reject'),
    /** Pipeline variables shown to the approvers (secret ones as ***). */
    variables: z.array(identifier).default([]),
  })
  .transform((a) => ({
    ...a,
    approvers: a.approvers.roles.length || a.approvers.tokens.length ? a.approvers : { roles: ['approver' as Role], tokens: [] },
  }))
  .superRefine((a, ctx) => {
    if (a.approvers.roles.length === 0 && a.approvers.tokens.length < a.required) {
      ctx.addIssue({ code: 'custom', path: ['required'], message: `${a.required} approvals are needed but only ${a.approvers.tokens.length} token(s) may approve` });
    }
  });
export type ApprovalSpec = z.infer<typeof approvalSpec>;
export type Approvers = ApprovalSpec['approvers'];

