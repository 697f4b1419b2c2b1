// The one contract every SIEM sink implements: deliver a batch of spooled events (JSON lines, in
// order) and resolve only once the receiver acknowledged all of them; reject otherwise, and the
// batch is sent again. Variants: sinks/webhook.ts, sinks/syslog.ts, sinks/splunk.ts; open-sink.ts
// picks one from a spec.

export interface SiemSink {
  readonly name: string;
  /** Resolves once the receiver acknowledged every event of `events` (JSON texts of SiemEvent);
   *  `signal` aborts it (the recorder stops: a hung receiver must not hold the shutdown). */
  send(events: readonly string[], signal: AbortSignal): Promise<void>;
}
