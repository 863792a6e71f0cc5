import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export type ClientKind = 'fetch' | 'curl' | 'socket';

/** One request on a raw connection. */
export interface RawExchange {
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyFile?: string;
}

export interface ClientJob {
  client: ClientKind;
  url: string;
  method: string;
  headers: Record<string, string>;
  /** The body's bytes, from a file (no body when absent). */
  bodyFile?: string;
  /** fetch and curl: send a multipart form with this file in this field instead, encoded by the client as people do (the socket sends `bodyFile`). */
  form?: { field: string; file: string };
  /** socket: several requests in turn on one connection, instead of the one above. */
  exchanges?: RawExchange[];
  /** socket: half-close (send FIN) once the last request is written. */
  halfClose?: boolean;
  /** socket: after the answers, wait (up to 30 s) for the server to close the connection. */
  awaitClose?: boolean;
}

export interface ClientResult {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Why no answer was read: the client's own error. */
  error?: string;
  /** socket: the 1xx answers before the final one. */
  interim?: number[];
  /** socket: the answers to the later exchanges. */
  more?: ClientResult[];
  /** socket: whether the server had closed the connection when the client let go of it. */
  connection?: { closedByServer: boolean; error?: string };
}

export interface HttpClients {
  send(job: ClientJob): Promise<ClientResult>;
  stop(): Promise<void>;
}

/**
 * Node's fetch, curl and a raw TCP socket, run from a process of their own
 * (see http-client-process.ts for why), so that tests see what clients on
 * another machine see.
 */
export function startHttpClients(): HttpClients {
  const child: ChildProcess = fork(path.join(__dirname, 'http-client-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, (result: ClientResult) => void>();
  let nextId = 0;
  child.on('message', (message: { id: number; result: ClientResult }) => {
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  child.on('exit', (code) => {
    for (const resolve of pending.values()) resolve({ error: `the client process exited (${code})` });
    pending.clear();
  });
  return {
    send: (job) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        child.send({ id, job });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}
