// The authenticated caller of a request, as the apiserver would name it.

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  /** From TokenReview (e.g. a service-account token's node name); never impersonated. */
  extra?: Record<string, string[]>;
  /** How the caller proved who they are (oidc: a browser signed in at the identity provider). */
  method: 'token' | 'certificate' | 'oidc';
}

/** The same person: used to check that the stream is opened by whoever created the session. */
export function sameUser(a: UserInfo, b: { username: string; uid?: string }): boolean {
  return a.username === b.username && (a.uid ?? '') === (b.uid ?? '');
}
