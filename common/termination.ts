// A moderator ending someone's running session: the reason as it may be stored and shown, the
// marker line in the recording, and the channel-3 Status that tells the user's plugin who ended it
// and why. Pure: the recorder builds the Status, the plugin reads it back by its refusal code
// (SESSION_TERMINATED), never by its wording.
import { errorCodeOf } from './error-codes.ts';
import { failureStatus, type Status } from './status.ts';

/** Longest reason accepted (characters, after cleaning). */
export const MAX_TERMINATION_REASON = 500;

/** What the plugin exits with when a moderator ended its session (sysexits' EX_NOPERM). */
export const TERMINATED_EXIT_CODE = 77;

export interface Termination {
  /** The moderator's user name. */
  by: string;
  /** Cleaned (terminationReason). */
  reason: string;
}

// Terminal escape sequences (CSI, OSC) go whole, so no colour or title change survives as text.
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?)/g;
// C0/C1 controls, DEL, and the bidi overrides/isolates that could make a terminal or page show
// something else than what was stored.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f]+/g;

/** The reason as stored and shown: no control or bidi characters, whitespace runs as one space. */
export function cleanReason(text: string): string {
  return text.replace(ESCAPES, '').replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
}

/** A reason that can be stored, or a sentence saying why not. */
export function checkReason(value: unknown): { reason: string } | { problem: string } {
  if (typeof value !== 'string' || cleanReason(value) === '') {
    return { problem: 'a reason is required: say why the session is ended (it is shown to its user)' };
  }
  const reason = cleanReason(value);
  if (reason.length > MAX_TERMINATION_REASON) {
    return {
      problem: `the reason is ${reason.length} characters; at most ${MAX_TERMINATION_REASON} are kept`,
    };
  }
  return { reason };
}

/** The one line the user reads: `session terminated by alice: "runaway job"`. */
export function terminationSentence(t: Termination): string {
  return `session terminated by ${t.by}: ${JSON.stringify(t.reason)}`;
}

/** The recording's marker label at the moment the session was ended. */
export function terminationMarker(t: Termination): string {
  return `terminated by ${t.by}: ${t.reason}`;
}

/** The channel-3 Status the recorder sends instead of an exit status. */
export function terminationStatus(t: Termination): Status {
  return failureStatus(410, terminationSentence(t), {
    reason: 'Gone',
    details: {
      causes: [
        { reason: 'SESSION_TERMINATED', message: 'a moderator ended the session' },
        { field: 'terminatedBy', message: t.by },
        { field: 'reason', message: t.reason },
      ],
    },
  });
}

/** Who ended the session and why, when `status` says a moderator did. */
export function terminationOf(status: Partial<Status> | null | undefined): Termination | undefined {
  if (errorCodeOf(status) !== 'SESSION_TERMINATED') return undefined;
  const causes = status?.details?.causes ?? [];
  const field = (name: string) => causes.find((c) => c.field === name)?.message;
  return { by: field('terminatedBy') ?? 'a moderator', reason: field('reason') ?? '' };
}
