const levelNames: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };
const hidden = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'group', 'v']);

/**
 * Renders one pino JSON line for a terminal: `12:00:01 INFO  [upload-api] msg key=value`.
 * Lines that are not JSON (a crash's stack trace) pass through as they are.
 */
export function formatLogLine(name: string, line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${' '.repeat(15)}[${name}] ${line}`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : new Date().toISOString().slice(11, 19);
  const level = levelNames[String(entry.level)] ?? String(entry.level);
  const extras = Object.entries(entry)
    .filter(([key]) => !hidden.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${level} [${name}] ${String(entry.msg ?? '')}${extras ? ` ${extras}` : ''}`;
}
