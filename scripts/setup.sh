#!/usr/bin/env bash
# Source this file to make a checkout ready to run: a Node.js >= 22.19 first on PATH (installed into
# .tools/ when the machine's is older or missing) and node_modules matching package-lock.json
# (`npm ci` when they differ from the lock: scripts/node-modules-current.ts). Idempotent and quick
# when nothing changed: `./run` sources it before every command.

# shellcheck source=./node-env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/node-env.sh" || return 1 2>/dev/null || exit 1

_ae_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! _ae_why="$(node "$_ae_root/scripts/node-modules-current.ts" 2>&1)"; then
  if [ "${AUDITED_EXEC_NO_INSTALL:-}" = 1 ]; then
    # A test running the README's commands must not reinstall the tree the test runner runs from.
    echo "setup: ${_ae_why:-node_modules differs from package-lock.json}; run npm ci first" >&2
    return 1 2>/dev/null || exit 1
  fi
  echo "setup: ${_ae_why:-node_modules differs from package-lock.json}; running npm ci" >&2
  if ! (cd "$_ae_root" && npm ci --no-audit --no-fund >&2); then
    echo "setup: npm ci failed (see above)" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
unset _ae_root _ae_why
