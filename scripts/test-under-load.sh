#!/usr/bin/env bash
# The whole test suite (CI=true: end-to-end tests required) with a CPU hog on every core, as on a
# CI machine or a node where other work uses the CPU. A test that passes only on a quiet machine
# waits for a time instead of an event; this finds it. Prints every failing test by file and name
# and exits non-zero when any failed.
#
#   npm run test:under-load                      # one run of the whole suite
#   npm run test:under-load -- --runs 3          # three runs in a row, stops at the first failure
#   npm run test:under-load -- --runs 3 --keep-going   # all three, to see how often each test fails
#   npm run test:under-load -- test/fault        # extra arguments go to vitest (a file filter)
#
# The hog is stress-ng (scripts/install-system-deps.sh) with one worker per core, or a shell busy
# loop per core where stress-ng is missing. HOG_WORKERS overrides the worker count.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=node-env.sh
source scripts/node-env.sh >/dev/null

runs=1
keep_going=false
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --keep-going) keep_going=true; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

workers="${HOG_WORKERS:-$(nproc)}"
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/test-under-load-XXXXXX")
hog_pids=()

stop_hog() {
  # Only the processes this script started, by pid.
  for pid in "${hog_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${hog_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  hog_pids=()
}
trap stop_hog EXIT
trap 'exit 130' INT TERM

start_hog() {
  if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$workers" --cpu-method all --quiet &
    hog_pids+=($!)
    echo "load: stress-ng --cpu $workers (pid ${hog_pids[*]})"
  else
    for _ in $(seq 1 "$workers"); do
      bash -c 'while :; do :; done' &
      hog_pids+=($!)
    done
    echo "load: stress-ng not installed; $workers shell busy loops (pids ${hog_pids[*]})"
  fi
}

# The failing tests of a vitest JSON report, one "file > test name" per line (load errors too).
failures() {
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const cwd = process.cwd() + "/";
    for (const file of r.testResults ?? []) {
      const name = file.name.replace(cwd, "");
      const failed = (file.assertionResults ?? []).filter((t) => t.status === "failed");
      for (const t of failed) console.log(`  ${name} > ${[...t.ancestorTitles, t.title].join(" > ")}`);
      if (failed.length === 0 && file.status === "failed")
        console.log(`  ${name} (the file failed outside a test: ${(file.message ?? "").split("\n")[0]})`);
    }
  ' "$1"
}

status=0
for run in $(seq 1 "$runs"); do
  start_hog
  began=$(date +%s)
  report="$out_dir/run-$run.json"
  echo "=== run $run of $runs under load (vitest report: $report)"
  set +e
  CI=true npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "${args[@]}"
  code=$?
  set -e
  stop_hog
  took=$(( $(date +%s) - began ))
  if [ ! -s "$report" ]; then
    echo "=== run $run: vitest wrote no report (exit $code) after ${took}s"
    status=1
    $keep_going && continue || break
  fi
  listed=$(failures "$report")
  if [ "$code" -ne 0 ] || [ -n "$listed" ]; then
    echo "=== run $run FAILED after ${took}s (vitest exit $code); failing tests:"
    echo "${listed:-  (none named: see the vitest output above)}"
    status=1
    $keep_going && continue || break
  fi
  echo "=== run $run green after ${took}s"
done
exit "$status"
