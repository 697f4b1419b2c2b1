// GET /api/v1/sessions/{id}/stream (WebSocket): the HTTP edge of a session's stream. The lifecycle
// (lifecycle.ts) claims the session and opens it; this file only says how an upgrade is accepted or
// refused. The upgrade completes when the session's driver asks for the user's socket, so an
// apiserver refusal of an exec reaches the user as the same HTTP status and message the apiserver
// gave (what kubectl would have shown).
import type { IncomingMessage } from 'node:http';
import { SUBPROTOCOL_V4, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import { refuseUpgrade } from '../http/respond.ts';
import type { UpgradeContext } from '../http/router.ts';
import type { SessionLifecycle } from './lifecycle.ts';
import type { Handshake } from './opening.ts';
import { requireSessionId } from './validate.ts';
import { acceptWebSocket } from './ws-handshake.ts';

export function streamPath(id: string): string {
  return `/api/v1/sessions/${id}/stream`;
}

export function streamHandler(lifecycle: SessionLifecycle) {
  return async (ctx: UpgradeContext): Promise<void> => {
    await lifecycle.open({
      user: ctx.user!,
      id: requireSessionId(ctx.params.id),
      offersProtocol: offersChannelProtocol(ctx.req),
      handshake: handshake(ctx),
    });
  };
}

function handshake(ctx: UpgradeContext): Handshake {
  return {
    accept: () =>
      acceptWebSocket({
        req: ctx.req,
        socket: ctx.socket,
        head: ctx.head,
        maxPayload: 16 * 1024 * 1024,
        protocol: (offered) =>
          offered.has(SUBPROTOCOL_V5) ? SUBPROTOCOL_V5 : offered.has(SUBPROTOCOL_V4) ? SUBPROTOCOL_V4 : null,
      }),
    refuse: (status) => refuseUpgrade(ctx.socket, status),
  };
}

function offersChannelProtocol(req: IncomingMessage): boolean {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  return offered.includes(SUBPROTOCOL_V5) || offered.includes(SUBPROTOCOL_V4);
}
