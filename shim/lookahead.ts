// The one place the shim waits before it answers: an event about a known process that now names an
// adopter as its parent, while that adopter has a fork whose child has not shown itself yet
// (ProcessTable.ambiguous). Is the process that child, its pid reused, or itself, re-parented? Seen
// on this machine: an init loop's fork whose child exec'd 244 ms later, while an orphan it had
// adopted acted in between. The log answers within moments: every fork's child names the adopter
// in its own first event. When as many new children have done so as the adopter made forks, the
// process was re-parented; while one is still missing, it is that child. A fork may even be logged
// after its child's first event, so an adopter that forks at all raises the question too. The
// event, and every event after it, is held until the count is met (and REORDER_MS passed),
// LOOKAHEAD_MS of audit time pass, or the log ends; then all are handled in their order.

import type { ProcessEvent } from './exec-event.ts';
import type { ProcessTable } from './process-table.ts';

/** how long (audit time) a fork's child may take to show itself */
export const LOOKAHEAD_MS = 2000;
/** how long (audit time) a fork may be logged after its child's first event: the child can run
 *  and exec before the parent returns from clone and its syscall is audited */
export const REORDER_MS = 100;

interface Question {
  pid: number;
  adopter: number;
  timeMs: number;
  /** children of the adopter's forks not yet shown; 0: all shown, so `pid` is not one of them */
  awaited: number;
  /** log position of the first of those forks */
  since: number;
}

export class Lookahead {
  readonly #table: ProcessTable;
  readonly #process: (event: ProcessEvent) => void;
  #held: ProcessEvent[] = [];
  #question: Question | null = null;
  /** pids already counted as awaited children for the open question */
  readonly #counted = new Set<number>();

  constructor(table: ProcessTable, process: (event: ProcessEvent) => void) {
    this.#table = table;
    this.#process = process;
  }

  push(event: ProcessEvent): void {
    const q = this.#question;
    if (q === null) {
      const a = this.#table.ambiguous(event);
      if (a === null) this.#process(event);
      else {
        this.#question = {
          pid: subject(event),
          adopter: a.adopter,
          timeMs: event.timeMs,
          awaited: a.forks,
          since: a.since,
        };
        this.#held.push(event);
      }
      return;
    }
    this.#held.push(event);
    this.#count(event, q);
    this.#settleAt(event.timeMs);
  }

  expireBefore(nowMs: number): void {
    if (this.#question !== null) this.#settleAt(nowMs);
  }

  /** The log ended (or went quiet): what it showed is all there is. */
  flush(): void {
    while (this.#question !== null) this.#settle(this.#question.awaited <= 0 ? 'same' : 'new');
  }

  /** Every awaited child showed itself (and a late fork had its time to be logged): re-parented.
   *  One is still missing after LOOKAHEAD_MS: it is the held process. */
  #settleAt(nowMs: number): void {
    const q = this.#question!;
    const waited = nowMs - q.timeMs;
    if (q.awaited <= 0 && waited > REORDER_MS) this.#settle('same');
    else if (waited > LOOKAHEAD_MS) this.#settle('new');
  }

  /** Serials of held events: a restart must read their lines again. */
  serials(): number[] {
    return this.#held.map((e) => e.serial);
  }

  /** A later fork by the adopter awaits one child more; another process's first event naming the
   *  adopter is one of the awaited children. */
  #count(event: ProcessEvent, q: Question): void {
    if (event.kind === 'fork' && event.parentPid === q.adopter) {
      q.awaited++;
      return;
    }
    const pid = subject(event);
    if (pid === q.pid || event.ppid !== q.adopter || this.#counted.has(pid)) return;
    if (!this.#table.mayBeNewChild(pid, q.adopter, q.since)) return;
    this.#counted.add(pid);
    q.awaited--;
  }

  #settle(verdict: 'same' | 'new'): void {
    const held = this.#held;
    const q = this.#question!;
    this.#held = [];
    this.#question = null;
    this.#counted.clear();
    this.#table.decide(q.pid, verdict);
    this.#process(held[0]!);
    this.#table.decide(q.pid, null);
    // What came after may raise a question of its own.
    for (let i = 1; i < held.length; i++) this.push(held[i]!);
  }
}

/** The process an event is about: the exec'ing process, or the forking one. */
function subject(event: ProcessEvent): number {
  return event.kind === 'exec' ? event.pid : event.parentPid;
}
