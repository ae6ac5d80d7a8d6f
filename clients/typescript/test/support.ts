/**
 * What the tests share: reading back through the dashboard's read API (the token of
 * MIMIR_DASHBOARD_TOKEN has both scopes in the test), and a small HTTP proxy in front of the real
 * server that answers chosen requests badly (503, a hang, a reset) and forwards the others, so that
 * retries go through a real HTTP path.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (tests/test_clients_typescript.py sets it)`);
  return value;
}

export async function read(path: string): Promise<any> {
  const response = await fetch(`${env('MIMIR_DASHBOARD_URL')}/api/v1${path}`, {
    headers: { Authorization: `Bearer ${env('MIMIR_DASHBOARD_TOKEN')}` },
  });
  assert.equal(response.status, 200, `GET ${path}: ${await response.clone().text()}`);
  return response.json();
}

export const readExecution = (id: string) => read(`/executions/${encodeURIComponent(id)}`);
export const readTask = (executionId: string, taskId: string) =>
  read(`/executions/${encodeURIComponent(executionId)}/tasks/${encodeURIComponent(taskId)}`);

/** The counters the examples talk about, in one object for deepEqual. */
export function counters(execution: any) {
  const { status, tasksTotal, tasksSuccessful, tasksFailed, tokensInput, tokensOutput, tokensTotal, toolCalls } = execution;
  return { status, tasksTotal, tasksSuccessful, tasksFailed, tokensInput, tokensOutput, tokensTotal, toolCalls };
}

/** Reads the execution back and checks its counters and failed tasks; answers it. */
export async function expectExecution(id: string, expected: ReturnType<typeof counters>, failedTaskIds: string[] = []) {
  const execution = await readExecution(id);
  assert.deepEqual(counters(execution), expected, id);
  assert.deepEqual(execution.failedTaskIds, failedTaskIds, id);
  return execution;
}

export async function putPlan(planId: string, plan: unknown): Promise<void> {
  const response = await fetch(`${env('MIMIR_DASHBOARD_URL')}/api/v1/plans/${encodeURIComponent(planId)}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${env('MIMIR_DASHBOARD_TOKEN')}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(plan),
  });
  assert.equal(response.status, 200, await response.text());
}

/** How the proxy treats one request: `forward` it; answer `503` with Retry-After: 1; `hang`
 * (never answer); or `reset`: forward it, so the server records it, then drop the connection
 * before the answer reaches the client (a lost answer). */
export type Behaviour = 'forward' | '503' | 'hang' | 'reset';

export interface Proxy {
  url: string;
  /** Method and path of every request it received, in order. */
  seen: string[];
  /** What each forwarded request was answered, in order. */
  upstreamStatuses: number[];
  close(): Promise<void>;
}

/** A proxy to MIMIR_DASHBOARD_URL treating the n-th request as `script[n]` (then `forward`). */
export async function startProxy(script: Behaviour[]): Promise<Proxy> {
  const upstream = env('MIMIR_DASHBOARD_URL');
  const seen: string[] = [];
  const upstreamStatuses: number[] = [];
  const hanging: http.ServerResponse[] = [];

  async function forward(req: http.IncomingMessage, body: Buffer) {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type', 'accept']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(upstream + req.url, {
      method: req.method,
      headers,
      body: body.length ? body : undefined,
    });
    upstreamStatuses.push(answer.status);
    return { status: answer.status, type: answer.headers.get('content-type') ?? '', text: await answer.text() };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const behaviour = script[seen.length] ?? 'forward';
      seen.push(`${req.method} ${req.url}`);
      const body = Buffer.concat(chunks);
      if (behaviour === '503') {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        res.end(JSON.stringify({ error: 'unavailable', detail: 'the graph database is unreachable; retry later', errors: [] }));
        return;
      }
      if (behaviour === 'hang') {
        hanging.push(res);
        return;
      }
      const answer = await forward(req, body);
      if (behaviour === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.status, { 'Content-Type': answer.type });
      res.end(answer.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    upstreamStatuses,
    close: async () => {
      for (const res of hanging) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `body` with MIMIR_DASHBOARD_* variables changed, restoring them after. */
export async function withEnv<T>(changes: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(changes)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** A local port nothing listens on (it was free a moment ago): connecting is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
