/**
 * The dashboard's API over Node's own fetch, with bounded retries. Retrying is always safe: every
 * call of the API is idempotent (a replay answers 200 `replayed: true` and changes nothing), so a
 * request whose answer was lost can be sent again without counting anything twice.
 */

export interface ClientOptions {
  /** The dashboard's base URL, e.g. `https://dashboard.example.com` (the API is under /api/v1). */
  url: string;
  /** A token with the `write` scope (`manage.py create_ingest_token NAME`). */
  token: string;
  /** Time allowed for one attempt, in milliseconds. */
  timeoutMs?: number;
  /** Attempts per call, the first included. */
  maxAttempts?: number;
  /** First backoff delay when the server gives no Retry-After; doubled on each retry. */
  backoffMs?: number;
  /** No wait between attempts is longer than this, Retry-After included. */
  maxDelayMs?: number;
  /** Where retries are reported (one line each). */
  warn?: (line: string) => void;
}

/** Statuses worth another attempt: the server was busy, restarting or behind a failing proxy. */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** A call the dashboard refused, or that still failed after the last attempt. */
export class DashboardError extends Error {
  readonly status: number | null;
  readonly body: unknown;
  readonly attempts: number;

  constructor(message: string, options: { status: number | null; body: unknown; attempts: number; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'DashboardError';
    this.status = options.status;
    this.body = options.body;
    this.attempts = options.attempts;
  }
}

export interface Answer {
  status: number;
  body: any;
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Options from the environment: MIMIR_DASHBOARD_URL and MIMIR_DASHBOARD_TOKEN (both required),
 * MIMIR_DASHBOARD_TIMEOUT_MS, MIMIR_DASHBOARD_MAX_ATTEMPTS, MIMIR_DASHBOARD_BACKOFF_MS. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const url = env.MIMIR_DASHBOARD_URL;
  const token = env.MIMIR_DASHBOARD_TOKEN;
  if (!url) throw new Error('MIMIR_DASHBOARD_URL is not set: the dashboard URL, e.g. http://127.0.0.1:8000');
  if (!token) throw new Error('MIMIR_DASHBOARD_TOKEN is not set: a write token (manage.py create_ingest_token NAME)');
  return {
    url,
    token,
    timeoutMs: positiveInt('MIMIR_DASHBOARD_TIMEOUT_MS', env.MIMIR_DASHBOARD_TIMEOUT_MS, 30_000),
    maxAttempts: Math.max(1, positiveInt('MIMIR_DASHBOARD_MAX_ATTEMPTS', env.MIMIR_DASHBOARD_MAX_ATTEMPTS, 6)),
    backoffMs: positiveInt('MIMIR_DASHBOARD_BACKOFF_MS', env.MIMIR_DASHBOARD_BACKOFF_MS, 500),
  };
}

/** Retry-After in milliseconds (seconds or an HTTP date), or null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return text;
  }
}

export class DashboardClient {
  private readonly base: string;
  private readonly options: Required<ClientOptions>;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '') + '/api/v1';
    this.options = {
      timeoutMs: 30_000,
      maxAttempts: 6,
      backoffMs: 500,
      maxDelayMs: 60_000,
      warn: (line) => console.warn(line),
      ...options,
    };
  }

  /** One call of the API: the answer of the first attempt that is not retryable, else a
   * DashboardError after the last attempt. A 4xx (other than 429) is never retried. */
  async request(method: string, path: string, body?: unknown): Promise<Answer> {
    const { maxAttempts, timeoutMs, backoffMs, maxDelayMs, warn } = this.options;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      let status: number | null = null;
      let answerBody: unknown = null;
      let cause: unknown;
      let serverDelay: number | null = null;
      try {
        const response = await fetch(this.base + path, {
          method,
          headers: {
            Authorization: `Bearer ${this.options.token}`,
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: payload,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = response.status;
        answerBody = await readBody(response);
        if (!RETRYABLE_STATUS.has(status)) {
          if (status >= 400) {
            const detail = (answerBody as { detail?: string } | null)?.detail ?? JSON.stringify(answerBody);
            throw new DashboardError(`${method} ${path} answered ${status}: ${detail}`, {
              status, body: answerBody, attempts: attempt,
            });
          }
          return { status, body: answerBody };
        }
        failure = `answered ${status}`;
        serverDelay = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        if (error instanceof DashboardError) throw error;
        // fetch rejects with a TypeError when the connection fails or is reset, and with a
        // TimeoutError when the attempt ran out of time (also while reading the body).
        cause = error;
        const detail = (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = detail?.code ?? detail?.message ?? (error as Error).name;
        failure = `failed (${reason})`;
      }
      if (attempt >= maxAttempts) {
        throw new DashboardError(`${method} ${path} ${failure} after ${attempt} attempts`, {
          status, body: answerBody, attempts: attempt, cause,
        });
      }
      // Full jitter, so that clients turned away together do not come back together.
      const backoff = Math.random() * backoffMs * 2 ** (attempt - 1);
      const delay = Math.min(maxDelayMs, serverDelay ?? backoff);
      warn(`mimir-dashboard: ${method} ${path} ${failure}; retrying in ${Math.round(delay)} ms (attempt ${attempt + 1} of ${maxAttempts})`);
      await sleep(delay);
    }
  }
}
