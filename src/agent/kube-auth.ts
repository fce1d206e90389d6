/**
 * Authentication and authorization of HTTP clients through the Kubernetes API, as the kubelet and
 * kube-rbac-proxy do: the bearer token is checked with a TokenReview, and the user it names is asked about
 * with a SubjectAccessReview on the request's non-resource URL (`/metrics`) and verb (`get`), or on a resource
 * for paths the API server's default roles open to everyone (`/api/v1/drops` -> `get drops.kdrop.dev`).
 * Answers are cached for a short time (allowed ones longer than denied ones), keyed by a hash of the token, and
 * identical reviews in flight are shared: a flood of scrapers with one token costs the API server one review.
 *
 * The reviewer is an interface so that the same gate serves any listener (the agent's, and later the API
 * server proxy's) and runs against a fake API server in tests; kube-reviewer.ts is the real one.
 */
import { createHash } from 'node:crypto';

export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** A request: the path without its query, and the Kubernetes verb (get for GET and HEAD). */
export interface RequestAttributes {
  readonly path: string;
  readonly verb: string;
}

/** A resource the API server's RBAC knows by group and name, for paths that must not be non-resource URLs. */
export interface ResourceRef {
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

/**
 * Paths that are never checked as non-resource URLs: the API server's own default roles grant them to every
 * authenticated user (system:discovery: /api/*, /apis/*, /openapi/*, /version; system:public-info-viewer:
 * /healthz, /livez, /readyz), so a SubjectAccessReview on them would admit anyone with a token.
 */
export const OPEN_NON_RESOURCE_PATHS = /^\/(?:api|apis|openapi)(?:\/|$)|^\/(?:version|healthz|livez|readyz)\/?$/;

/** What the API server answers; it rejects (e.g. network error, 5xx) when it cannot answer. */
export interface AccessReviewer {
  /** TokenReview: the user, or null when the token is not valid (expired, unknown, wrong audience). */
  authenticate(token: string): Promise<ReviewedUser | null>;
  /** SubjectAccessReview: on the resource when given, else on the non-resource URL `attrs.path`. */
  authorize(user: ReviewedUser, attrs: RequestAttributes, resource?: ResourceRef): Promise<{ readonly allowed: boolean; readonly reason: string }>;
}

export type AuthDecision =
  | { readonly status: 200; readonly user: string }
  /** 401: no or invalid token; 403: valid token, no permission; 503: the API server could not answer. */
  | { readonly status: 401 | 403 | 503; readonly message: string; readonly user?: string };

export interface KubeRequestAuthOptions {
  /** How long an allowed answer is re-used (default 60 s). */
  readonly allowedTtlMs?: number;
  /** How long a refusal (401/403) is re-used (default 10 s); API errors are never cached. */
  readonly deniedTtlMs?: number;
  /**
   * Paths checked as a resource instead of a non-resource URL (e.g. /api/v1/drops as `get drops.kdrop.dev`);
   * a path matching OPEN_NON_RESOURCE_PATHS without an entry here is refused.
   */
  readonly resources?: Readonly<Record<string, ResourceRef>>;
  /** Most cached answers; the oldest go first (default 4096). */
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Entry {
  readonly decision: AuthDecision;
  readonly expires: number;
}

/** HTTP method -> Kubernetes verb, as kube-rbac-proxy and the kubelet map it. */
export function verbOf(method: string | undefined): string {
  switch ((method ?? 'GET').toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return (method ?? '').toLowerCase();
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

export class KubeRequestAuth {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<AuthDecision>>();
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly resources: Readonly<Record<string, ResourceRef>>;
  /** Reviews sent to the API server (TokenReview + SubjectAccessReview), for tests and self-metrics. */
  reviews = 0;

  constructor(
    private readonly reviewer: AccessReviewer,
    opts: KubeRequestAuthOptions = {},
  ) {
    this.allowedTtlMs = opts.allowedTtlMs ?? 60_000;
    this.deniedTtlMs = Math.min(opts.deniedTtlMs ?? 10_000, this.allowedTtlMs);
    this.maxEntries = opts.maxEntries ?? 4096;
    this.now = opts.now ?? Date.now;
    this.resources = opts.resources ?? {};
  }

  /** The rule a reader needs for this request, in words. */
  private ruleFor(attrs: RequestAttributes): string {
    const r = this.resources[attrs.path];
    if (r !== undefined) return `apiGroups ["${r.group}"], resources ["${r.resource}"], verbs ["${attrs.verb}"]`;
    return `nonResourceURLs ["${attrs.path}"], verbs ["${attrs.verb}"]`;
  }

  /** Decides on a request from its Authorization header and attributes. */
  async check(authorization: string | undefined, attrs: RequestAttributes): Promise<AuthDecision> {
    if (this.resources[attrs.path] === undefined && OPEN_NON_RESOURCE_PATHS.test(attrs.path)) {
      return { status: 403, message: `${attrs.path} cannot be authorized as a non-resource URL (the API server's default roles open it to every user); map it to a resource` };
    }
    const token = bearerToken(authorization);
    if (token === null) return { status: 401, message: 'expected an Authorization: Bearer <token> header (a Kubernetes ServiceAccount or user token)' };
    const key = `${createHash('sha256').update(token).digest('base64url')} ${attrs.verb} ${attrs.path}`;
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expires > this.now()) return hit.decision;
    if (hit !== undefined) this.cache.delete(key);
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const p = this.review(token, attrs)
      .then((decision) => {
        if (decision.status !== 503) this.remember(key, decision);
        return decision;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async review(token: string, attrs: RequestAttributes): Promise<AuthDecision> {
    let user: ReviewedUser | null;
    try {
      this.reviews++;
      user = await this.reviewer.authenticate(token);
    } catch (err) {
      return { status: 503, message: `cannot review the token with the Kubernetes API: ${errorText(err)}` };
    }
    if (user === null) return { status: 401, message: 'the token was not accepted by the Kubernetes API (TokenReview)' };
    try {
      this.reviews++;
      const r = await this.reviewer.authorize(user, attrs, this.resources[attrs.path]);
      if (r.allowed) return { status: 200, user: user.username };
      return {
        status: 403,
        user: user.username,
        message: `${user.username} may not ${attrs.verb} ${attrs.path} (needs a ClusterRole with ${this.ruleFor(attrs)})${r.reason ? `: ${r.reason}` : ''}`,
      };
    } catch (err) {
      return { status: 503, user: user.username, message: `cannot review the access with the Kubernetes API: ${errorText(err)}` };
    }
  }

  private remember(key: string, decision: AuthDecision): void {
    const ttl = decision.status === 200 ? this.allowedTtlMs : this.deniedTtlMs;
    if (ttl <= 0) return;
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { decision, expires: this.now() + ttl });
  }
}

function errorText(err: unknown): string {
  const e = err as { code?: number; message?: string };
  return typeof e?.code === 'number' ? `HTTP ${e.code}` : e instanceof Error ? e.message : String(err);
}
