/**
 * Roles of API tokens, each including the ones before it: a viewer reads; an operator also
 * starts, cancels and reruns runs; an approver also decides approval stages; an admin also changes
 * definitions and tokens and reads the audit log.
 */
export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
