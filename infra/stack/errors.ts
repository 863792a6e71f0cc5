/** Error codes of the local stack, stable for callers to branch on. */
export type StackErrorCode =
  | 'STACK_PORT_IN_USE'
  | 'STACK_START_TIMEOUT'
  | 'STACK_PROCESS_EXITED'
  | 'STACK_STORAGE_FORMAT_FAILED'
  | 'STACK_JAR_FETCH_FAILED'
  | 'STACK_TOOL_MISSING';

export class StackError extends Error {
  readonly code: StackErrorCode;

  constructor(code: StackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export type StackService = 'kafka' | 'kafka-controller' | 's3proxy' | 'postgres';
/** What answers on a port we wanted: a server of the kind we would start, or something else. */
export type PortOccupant = 'kafka' | 's3' | 's3-other-credentials' | 'postgres' | 'unknown';

/**
 * A port we need is taken. When `occupant` is 'kafka', 's3' or 'postgres' it is a healthy
 * server of the right kind (often a stack started by another terminal or
 * test run); the caller decides whether to use it, stop it or pick other ports.
 */
export class PortInUseError extends StackError {
  readonly service: StackService;
  readonly host: string;
  readonly port: number;
  readonly occupant: PortOccupant;
  /** Pid of the process holding the port, when our pid file names it. */
  readonly pid: number | undefined;

  constructor(details: { service: StackService; host: string; port: number; occupant: PortOccupant; pid?: number; hint: string }) {
    const who = details.pid === undefined ? '' : ` (pid ${details.pid})`;
    super('STACK_PORT_IN_USE', `${details.service}: ${details.host}:${details.port} is already in use${who}: ${details.hint}`);
    this.service = details.service;
    this.host = details.host;
    this.port = details.port;
    this.occupant = details.occupant;
    this.pid = details.pid;
  }
}

/** A server did not become healthy: it exited, or the wait timed out. */
export class ServerStartError extends StackError {
  readonly service: StackService;
  /** Last lines of the server's own log, already part of the message. */
  readonly logTail: string;

  constructor(code: 'STACK_START_TIMEOUT' | 'STACK_PROCESS_EXITED' | 'STACK_STORAGE_FORMAT_FAILED', service: StackService, summary: string, logTail: string) {
    super(code, `${service}: ${summary}${logTail ? `\n--- log tail ---\n${logTail}` : ''}`);
    this.service = service;
    this.logTail = logTail;
  }
}

export class JarFetchError extends StackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STACK_JAR_FETCH_FAILED', message, options);
  }
}

/** The Postgres binaries for this platform are not installed, or the user Postgres runs as cannot reach them or its data. */
export class PostgresUnavailableError extends StackError {
  constructor(message: string) {
    super('STACK_TOOL_MISSING', message);
  }
}

/** java or mvn is not on PATH. */
export class MissingToolError extends StackError {
  readonly tool: string;

  constructor(tool: string, installHint: string) {
    super('STACK_TOOL_MISSING', `'${tool}' was not found on PATH. ${installHint}`);
    this.tool = tool;
  }
}
