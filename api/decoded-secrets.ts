import { SecretMasker } from '../activities/masker';

/**
 * Masks secret variable values in a decoded payload before it leaves the control plane. Run and
 * step inputs carry `variables` with the `secretNames` among them; every string of the payload
 * that contains one of those values is masked, so Temporal Web shows a run as the API does.
 */
export function maskDecodedSecrets(value: unknown): unknown {
  const secrets = new Set<string>();
  collectSecrets(value, secrets);
  if (secrets.size === 0) return value;
  const masker = new SecretMasker([...secrets]);
  const mask = (v: unknown): unknown => {
    if (typeof v === 'string') return masker.all(v);
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  return mask(value);
}

function collectSecrets(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) return value.forEach((v) => collectSecrets(v, into));
  if (!value || typeof value !== 'object') return;
  const o = value as { variables?: unknown; secretNames?: unknown };
  if (Array.isArray(o.secretNames) && o.variables && typeof o.variables === 'object') {
    for (const name of o.secretNames) {
      const secret = (o.variables as Record<string, unknown>)[String(name)];
      if (typeof secret === 'string' && secret) into.add(secret);
    }
  }
  Object.values(value).forEach((v) => collectSecrets(v, into));
}
