#!/usr/bin/env bash
# Runs the plan's compile script (compile.sh, the same one the host executor runs) step by step inside the build
# container. Each step's output goes to /logs/<step>.log (exported with the staging tree), and one marker line per
# step goes to the build output, which the docker executor turns into progress lines with durations. Keeping the
# compiler's chatter out of the build output also keeps BuildKit's per-step log limit from clipping the markers.
set -uo pipefail
mkdir -p /logs
for step in "$@"; do
  echo "php-layer-step start $step"
  t0=$(date +%s%N)
  if bash /src/compile.sh "$step" /src/php.tar /build /stage >"/logs/$step.log" 2>&1; then
    echo "php-layer-step done $step $(( ($(date +%s%N) - t0) / 1000000 ))"
  else
    rc=$?
    echo "php-layer-step failed $step $(( ($(date +%s%N) - t0) / 1000000 )) exit $rc"
    tail -n 40 "/logs/$step.log"
    exit "$rc"
  fi
done
