// kafkajs 2.2.4, its last release, schedules its request queue's next check
// with setTimeout(check, throttledUntil - Date.now()): a large negative delay
// whenever the broker has not throttled the client. Node always ran such a
// timer after 1 ms; since Node 23 it also prints a TimeoutNegativeWarning,
// once in every process that talks to Kafka (kafkajs#1751, unfixed upstream).
// Here the queue asks for the 1 ms it always got: same behaviour, no warning.
// Loaded for its side effect wherever a kafkajs client is made.

interface RequestQueue {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const { version } = require('kafkajs/package.json') as { version: string };
const requestQueue = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueue };

// The method below is kafkajs 2.2.4's (MIT), with the delay clamped; another version keeps its own.
if (version === '2.2.4') {
  requestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueue): void {
    let scheduleAt = this.throttledUntil - Date.now();
    if (!this.throttleCheckTimeoutId) {
      if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL_MS;
      this.throttleCheckTimeoutId = setTimeout(() => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      }, Math.max(1, scheduleAt));
    }
  };
}

export {};
