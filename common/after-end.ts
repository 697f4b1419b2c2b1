// Whether a command or alert came after its session ended: a process that outlived the shell
// (nohup, a daemon), the first thing an auditor asks about. One rule for the API, the web UI, the
// CLI and the evidence report.

/** True when `time` (ISO-8601) is after the session's end; false while the session runs. */
export function afterSessionEnd(session: { endedAt?: string | undefined }, time: string): boolean {
  return session.endedAt !== undefined && Date.parse(time) > Date.parse(session.endedAt);
}
