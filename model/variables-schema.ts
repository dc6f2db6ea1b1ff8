import { z } from 'zod';
import { identifier, namedItems, regexSource } from './meta';

export const variableSpec = z
  .strictObject({
    name: identifier,
    description: z.string().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    required: z.boolean().default(false),
    regex: regexSource.optional(),
    enum: z.array(z.union([z.string(), z.number()]).transform(String)).min(1).optional(),
    /** Secret values are masked in output and never leave the codec in clear. */
    secret: z.boolean().default(false),
  }, namedItems('variables'))
  .superRefine((v, ctx) => {
    if (v.default === undefined) return;
    if (v.enum && !v.enum.includes(v.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `"${v.default}" is not one of ${v.enum.join(', ')}` });
    }
    if (v.regex && !new RegExp(`^(?:${v.regex})$`).test(v.default)) {
      ctx.addIssue({ code: 'custom', path: ['default'], message: `does not match regex ${v.regex}` });
    }
  });

export type VariableSpec = z.infer<typeof variableSpec>;

export const variableList = z.array(variableSpec, namedItems('variables')).default([]).superRefine((vars, ctx) => {
  const seen = new Set<string>();
  vars.forEach((v, i) => {
    if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate variable "${v.name}"` });
    seen.add(v.name);
  });
});
