// Shim ↔ server messages on the WebSocket /api/v1/shim (JSON text frames). The protocol prose is at
// the top of shim/shipper.ts; docs/architecture.md "Wire contracts" has the summary.

import type { Status } from './status.ts';
import type { InferredExecHint, ShimEvent } from './wire.ts';

/** The audience of the shim's service-account token (its projected token in deploy/app/shim.yaml):
 *  the recorder accepts a shim only with a token minted for it. */
export const SHIM_AUDIENCE = 'audited-exec';

/** shim → server: events in increasing `seq`; a resend after reconnect may repeat seqs the server
 *  already stored (it ignores seq ≤ its highest stored for this node+bootId). */
export interface ShimEventsMessage {
  type: 'events';
  events: ShimEvent[];
}

/** server → shim: every event with seq ≤ `seq` is stored; the shim drops them from its spool. */
export interface ShimAckMessage {
  type: 'ack';
  seq: number;
}

/** server → shim, just before it closes the connection with a policy-violation code (1008): why,
 *  as a Status (a WebSocket close reason is too short for one). Nothing of that message was stored. */
export interface ShimErrorMessage {
  type: 'error';
  status: Status;
}

export type ShimToServer = ShimEventsMessage;
export type ServerToShim = ShimAckMessage | InferredExecHint | ShimErrorMessage;
