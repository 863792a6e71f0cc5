export interface SseEvent {
  id?: string;
  event?: string;
  data?: any;
}

/**
 * Reads a Server-Sent Events stream as its text arrives: give the returned
 * function each chunk; `onEvent` gets each named event (its data parsed as
 * JSON, as the API sends it), `onComment` each comment line (keep-alives).
 */
export function sseReader(handlers: { onEvent: (event: SseEvent) => void; onComment?: (text: string) => void }): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let boundary;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event: SseEvent = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) handlers.onComment?.(line.slice(1).trim());
        else if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6));
      }
      if (event.event) handlers.onEvent(event);
    }
  };
}
