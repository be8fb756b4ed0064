/** Test helpers for the simulator suite: a started simulator, JSON requests, raw HTTP. */
import { connect } from 'node:net';

import { startSimulator } from '../../src/simulator/index.js';
import type { RunningSimulator, SimulatorOptions } from '../../src/simulator/index.js';
import type { AllocationStub, Deployment } from '../../src/domain/nomad.js';

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

export class SimClient {
  constructor(
    readonly sim: RunningSimulator,
    private readonly token?: string,
  ) {}

  withToken(token: string): SimClient {
    return new SimClient(this.sim, token);
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h['X-Nomad-Token'] = this.token;
    const res = await fetch(this.sim.url + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, text, body: parsed as T };
  }

  get<T = unknown>(path: string): Promise<Reply<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('POST', path, body);
  }

  put<T = unknown>(path: string, body?: unknown): Promise<Reply<T>> {
    return this.request<T>('PUT', path, body);
  }

  /** Registers a job through PUT /v1/jobs and fails the test on an error. */
  async register(job: Record<string, unknown>, namespace?: string): Promise<Record<string, unknown>> {
    const r = await this.put<Record<string, unknown>>(`/v1/jobs${namespace ? `?namespace=${namespace}` : ''}`, { Job: job });
    if (r.status !== 200) throw new Error(`register failed: ${r.status} ${r.text}`);
    return r.body;
  }

  async advance(duration: string): Promise<void> {
    const r = await this.post('/_sim/clock', { advance: duration });
    if (r.status !== 200) throw new Error(`advance failed: ${r.text}`);
  }

  async deployments(jobId: string, namespace = 'default'): Promise<Deployment[]> {
    return (await this.get<Deployment[]>(`/v1/job/${jobId}/deployments?namespace=${namespace}`)).body;
  }

  async latestDeployment(jobId: string, namespace = 'default'): Promise<Deployment> {
    return (await this.get<Deployment>(`/v1/job/${jobId}/deployment?namespace=${namespace}`)).body;
  }

  async allocs(jobId: string, namespace = 'default'): Promise<AllocStub[]> {
    return (await this.get<AllocStub[]>(`/v1/job/${jobId}/allocations?namespace=${namespace}`)).body;
  }

  async liveAllocs(jobId: string, namespace = 'default'): Promise<AllocStub[]> {
    return (await this.allocs(jobId, namespace)).filter((a) => a.DesiredStatus === 'run' && a.ClientStatus === 'running');
  }
}

/** The wire types of the promoter's own domain: the simulator must answer in exactly those shapes. */
export type { Deployment, DeploymentState } from '../../src/domain/nomad.js';
export type AllocStub = AllocationStub;

export async function withSim(opts: SimulatorOptions = {}): Promise<SimClient> {
  return new SimClient(await startSimulator({ frozenClock: true, ...opts }));
}

/** A service job with one group `web`; `update` fields are ns durations, as in Nomad's JSON. */
export function webJob(opts: { id?: string; count?: number; image?: string; update?: Record<string, unknown>; meta?: Record<string, string>; namespace?: string } = {}): Record<string, unknown> {
  return {
    ID: opts.id ?? 'web',
    ...(opts.namespace ? { Namespace: opts.namespace } : {}),
    TaskGroups: [
      {
        Name: 'web',
        Count: opts.count ?? 2,
        Update: { MinHealthyTime: 10e9, HealthyDeadline: 60e9, ProgressDeadline: 120e9, ...(opts.update ?? {}) },
        ...(opts.meta ? { Meta: opts.meta } : {}),
        Tasks: [{ Name: 'app', Driver: 'docker', Config: { image: opts.image ?? 'app:1' } }],
      },
    ],
  };
}

/** Sends raw bytes and collects everything the server writes until it closes or `idleMs` passes. */
export function rawRequest(port: number, request: string, idleMs = 300): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    };
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    });
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (e) => (data ? done() : reject(e)));
    socket.write(request);
  });
}

/** A kept-open raw connection: one request at a time, each answer read up to its Content-Length. */
export interface RawConnection {
  /** Sends `GET <path>` (keep-alive) and resolves with the raw answer. */
  get(path: string): Promise<string>;
  close(): Promise<void>;
}

export function openRawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = '';
    let pending: ((answer: string) => void) | null = null;
    let pendingFail: ((err: Error) => void) | null = null;
    const tryAnswer = (): void => {
      const end = buffer.indexOf('\r\n\r\n');
      if (!pending || end < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const answer = buffer.slice(0, end + 4 + length);
      buffer = buffer.slice(end + 4 + length);
      const done = pending;
      pending = null;
      pendingFail = null;
      done(answer);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      tryAnswer();
    });
    socket.on('error', (err) => {
      reject(err);
      pendingFail?.(err);
    });
    socket.on('close', () => pendingFail?.(new Error(`connection closed; got ${JSON.stringify(buffer)}`)));
    socket.once('connect', () =>
      resolve({
        get: (path) =>
          new Promise((done, fail) => {
            pending = done;
            pendingFail = fail;
            socket.write(`GET ${path} HTTP/1.1\r\nHost: sim\r\n\r\n`);
          }),
        close: () =>
          new Promise((done) => {
            socket.once('close', () => done());
            socket.end();
          }),
      }),
    );
  });
}
