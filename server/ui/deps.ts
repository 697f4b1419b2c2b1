// What the web UI needs from the rest of the recorder. Everything except `events` and `evidence`
// exists in the server today; those two are optional so the UI works before they are wired.

import type { Authenticator } from '../auth/authenticator.ts';
import type { OidcSignIn } from '../auth/oidc/open.ts';
import type { SessionAccess } from '../auth/session-access.ts';
import type { WebSessionOptions, WebSessionStore } from '../auth/web-session.ts';
import type { AlertFilter, AlertPage } from '../events/store.ts';
import type { SessionTerminator } from '../sessions/terminate.ts';
import type { Store } from '../store/store.ts';
import type { SignInFailureStore, SignInLimitOptions } from './sign-in-limit.ts';
import type { TrustedProxyConfig } from './viewer.ts';

export interface UiEventSource {
  /** The session's AttributedExec and AttributionAlert items (the /events answer), time order. */
  sessionEvents(sessionId: string): Promise<unknown[]>;
  /** Of these sessions, the ids whose attributed commands contain every term (text search). */
  matchCommands?(sessionIds: string[], terms: string[]): Promise<Set<string>>;
  /** unrecorded-tty alerts, newest first, keyset-paged. */
  unrecordedAlerts?(filter: AlertFilter): Promise<AlertPage>;
}

/** The evidence service (server/evidence/evidence.ts createEvidence): the same bundle the REST API sends. */
export interface EvidenceSource {
  /** the .tar.gz, file-backed: stream it, it holds the whole recording */
  bundle(sessionId: string): Promise<Blob>;
}

export interface UiConfig {
  /** origins the UI is reached at (scheme://host[:port]); the request's own Host is always accepted */
  publicOrigins: string[];
  webSessions: Partial<WebSessionOptions> & { store?: WebSessionStore };
  /** failed sign-ins allowed per client address and window */
  signInLimit: Partial<SignInLimitOptions> & { store?: SignInFailureStore };
  trustedProxy?: TrustedProxyConfig;
  pageSize: number;
  /** most store rows one list request examines (visibility/search filtering) */
  maxScanned: number;
}

export const UI_DEFAULTS: UiConfig = {
  publicOrigins: [],
  webSessions: {},
  signInLimit: {},
  pageSize: 50,
  maxScanned: 5000,
};

export interface UiDeps {
  store: Store;
  authenticator: Authenticator;
  /** who may see which session: the recorder's one SessionAccess (server/auth/session-access.ts) */
  access: SessionAccess;
  /** a local file with the session's recording (storage/recording-files.ts) */
  recordingPathFor: (sessionId: string) => Promise<string>;
  /** default: the store itself when it has listEvents(id) (shim events) */
  events?: UiEventSource;
  evidence?: EvidenceSource;
  /** sign-in at the OpenID Connect provider (--oidc-issuer-url); absent: token sign-in only */
  oidc?: OidcSignIn;
  /** ending a running session (sessions/terminate.ts); absent: no Terminate button */
  terminate?: SessionTerminator;
  config?: Partial<UiConfig>;
}
