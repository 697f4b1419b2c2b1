#!/usr/bin/env bash
# Source this file to put a Node.js >= 22.19 first on PATH. On machines whose Node is older
# (this kind ships Node 20) it installs Node 24 from the npm registry's `node` package into
# .tools/node24 once, because the registry is the only network we can count on.
# Usage: source scripts/node-env.sh   (README, .ci/run and npm scripts all use it)

_ae_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ae_prefix="$_ae_root/.tools/node24"
_ae_bin="$_ae_prefix/node_modules/node/bin"

_ae_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if [ -x "$_ae_bin/node" ]; then
  export PATH="$_ae_bin:$PATH"
elif ! _ae_node_ok || [ "${AUDITED_EXEC_NODE24:-}" = "1" ]; then
  echo "node-env: $(node --version 2>/dev/null || echo 'no node') is older than 22.19; installing Node 24 into .tools/node24" >&2
  mkdir -p "$_ae_prefix"
  # --ignore-scripts=false: the node package fetches its platform binary in a preinstall script.
  if ! npm install --no-save --no-package-lock --ignore-scripts=false --prefix "$_ae_prefix" node@24 >"$_ae_prefix/install.log" 2>&1; then
    cat "$_ae_prefix/install.log" >&2
    echo "node-env: could not install Node 24 from the npm registry" >&2
    return 1 2>/dev/null || exit 1
  fi
  export PATH="$_ae_bin:$PATH"
fi
echo "node-env: using node $(node --version) from $(command -v node)" >&2
unset _ae_root _ae_prefix _ae_bin
