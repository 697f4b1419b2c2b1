// An ID token's claims → the user RBAC knows, by the kube-apiserver's own --oidc-* rules, so the
// name and groups a browser signs in with are the ones the cluster's bindings already name. Pure.
import { AuditedExecError } from '../../../common/errors.ts';
import type { UserInfo } from '../user.ts';

/** The apiserver's claim flags, as given (prefixes unresolved: absent is not the same as empty). */
export interface ClaimFlags {
  issuerUrl: string;
  /** --oidc-username-claim; the apiserver's default is `sub` */
  usernameClaim: string;
  /** --oidc-username-prefix; absent: the apiserver's default, `-`: none */
  usernamePrefix?: string;
  /** --oidc-groups-claim; absent: no groups from the token */
  groupsClaim?: string;
  /** --oidc-groups-prefix; absent: none */
  groupsPrefix?: string;
}

export interface ClaimMapping {
  usernameClaim: string;
  usernamePrefix: string;
  groupsClaim?: string;
  groupsPrefix: string;
}

/**
 * The apiserver's defaults: a username claim other than `email` is prefixed with the issuer URL and
 * `#` (so `sub` values of two issuers cannot collide), `email` is not; `-` turns prefixing off.
 */
export function claimMapping(flags: ClaimFlags): ClaimMapping {
  const usernamePrefix =
    flags.usernamePrefix === '-'
      ? ''
      : (flags.usernamePrefix ?? (flags.usernameClaim === 'email' ? '' : `${flags.issuerUrl}#`));
  return {
    usernameClaim: flags.usernameClaim,
    usernamePrefix,
    ...(flags.groupsClaim ? { groupsClaim: flags.groupsClaim } : {}),
    groupsPrefix: flags.groupsPrefix ?? '',
  };
}

/**
 * The user of verified claims. Like the apiserver: the username claim must be a non-empty string,
 * an `email` username needs `email_verified` true when the token carries it, and the groups claim
 * is a string or an array of strings. Every signed-in user is in system:authenticated.
 */
export function userFromClaims(claims: Record<string, unknown>, m: ClaimMapping): UserInfo {
  const name = claims[m.usernameClaim];
  if (typeof name !== 'string' || name === '') {
    throw new AuditedExecError(
      'OIDC_CLAIMS_INVALID',
      `The identity provider's token has no "${m.usernameClaim}" claim to name you by; ask your administrator to check --oidc-username-claim.`,
    );
  }
  if (m.usernameClaim === 'email' && 'email_verified' in claims && claims.email_verified !== true) {
    throw new AuditedExecError(
      'OIDC_CLAIMS_INVALID',
      'Your e-mail address is not verified at the identity provider; verify it there and sign in again.',
    );
  }
  const groups = m.groupsClaim ? groupValues(claims[m.groupsClaim], m.groupsClaim) : [];
  return {
    username: m.usernamePrefix + name,
    groups: [...new Set([...groups.map((g) => m.groupsPrefix + g), 'system:authenticated'])],
    method: 'oidc',
  };
}

function groupValues(value: unknown, claim: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((g): g is string => typeof g === 'string')) return value;
  throw new AuditedExecError(
    'OIDC_CLAIMS_INVALID',
    `The identity provider's "${claim}" claim is not a list of group names; ask your administrator to check --oidc-groups-claim.`,
  );
}
