/**
 * `kdrop agent`'s settings for who may read /metrics and /api/v1/drops: HTTPS (a certificate and key from
 * files, e.g. a mounted Secret), authentication and authorization through the Kubernetes API (TokenReview,
 * SubjectAccessReview), and the HTTP server's bounds. Flags, KDROP_* env variables and the config file.
 */
import { z } from 'zod';
import { durationMs } from '../config/common.js';
import type { SettingsTable } from '../config/settings.js';

export interface AgentAuth {
  /** Clients must show a bearer token that the Kubernetes API accepts and authorizes (TokenReview + SubjectAccessReview). */
  readonly kubernetes: boolean;
  /** Serve HTTPS with these PEM files; null: plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  /** How long an allowed review is re-used (denied ones: at most 10 s). */
  readonly cacheTtlMs: number;
  /** Connections the metrics listener accepts at once (more are closed at accept). */
  readonly maxConnections: number;
}

const file = z.string().trim().min(1, { message: 'expected a file path' });
const connections = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > 65_536) {
    ctx.addIssue({ code: 'custom', message: `expected connections at once (a whole number from 1 to 65536), found ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

export const AUTH_SETTINGS = {
  auth: { flag: '--auth', env: ['KDROP_AUTH'], file: true, default: 'off', schema: z.enum(['off', 'kubernetes'], { message: 'expected off or kubernetes' }) },
  tlsCertFile: { flag: '--tls-cert-file', env: ['KDROP_TLS_CERT_FILE'], file: true, schema: file.optional() },
  tlsKeyFile: { flag: '--tls-key-file', env: ['KDROP_TLS_KEY_FILE'], file: true, schema: file.optional() },
  authCacheTtl: { flag: '--auth-cache-ttl', env: ['KDROP_AUTH_CACHE_TTL'], file: true, default: '1m', schema: durationMs },
  maxConnections: { flag: '--max-connections', env: ['KDROP_MAX_CONNECTIONS'], file: true, default: 64, schema: connections },
} as const satisfies SettingsTable;

/** The resolved values as AgentAuth; the problems (TLS files half given, auth without TLS) are pushed to `problems`. */
export function authOptions(
  v: { auth: 'off' | 'kubernetes'; tlsCertFile?: string | undefined; tlsKeyFile?: string | undefined; authCacheTtl: number; maxConnections: number },
  problems: string[],
): AgentAuth {
  const { tlsCertFile: cert, tlsKeyFile: key } = v;
  if ((cert === undefined) !== (key === undefined)) {
    problems.push(`--tls-cert-file / --tls-key-file: expected both (a certificate and its key), found only ${cert === undefined ? '--tls-key-file' : '--tls-cert-file'}`);
  }
  const tls = cert !== undefined && key !== undefined ? { certFile: cert, keyFile: key } : null;
  if (v.auth === 'kubernetes' && tls === null) {
    problems.push('--auth kubernetes: expected --tls-cert-file and --tls-key-file (bearer tokens are not accepted over plain HTTP), found none');
  }
  return { kubernetes: v.auth === 'kubernetes', tls, cacheTtlMs: v.authCacheTtl, maxConnections: v.maxConnections };
}
