#!/usr/bin/env bash
# Starts (or stops) a Docker engine for the docker executor when none answers.
#
#   scripts/docker-engine.sh start    # prints the DOCKER_HOST to use; does nothing if an engine already answers
#   scripts/docker-engine.sh stop     # stops only the engine this script started
#   scripts/docker-engine.sh status   # exit 0 if an engine answers
#
# The engine is Debian/Ubuntu's `docker.io` run as root with its own socket, data root and exec root, so it never
# touches a system engine's state. vfs storage and no bridge/iptables: works inside VMs and containers without
# overlayfs or netfilter; builds use host networking. The factory finds this socket on its own (see
# builder/executors/engine.ts), so no environment variable is needed afterwards.
set -euo pipefail

STATE=${PHP_LAYER_DOCKER_STATE:-/var/lib/php-layer-docker}
RUNDIR=${PHP_LAYER_DOCKER_RUN:-/run/php-layer-docker}
SOCK="$RUNDIR/docker.sock"
PIDFILE="$RUNDIR/dockerd.pid"
LOG="$STATE/dockerd.log"

log() { printf '» %s\n' "$*" >&2; }
die() { printf 'docker-engine: %s\n' "$*" >&2; exit 1; }

# The client Debian ships (has BuildKit built in); any client will do for `info`.
client() { if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker || echo docker; fi; }
answers() { timeout 10 "$(client)" -H "$1" info >/dev/null 2>&1; }

case "${1:-}" in
  status)
    if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then echo "engine answers at $DOCKER_HOST"; exit 0; fi
    if [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then echo "engine answers at unix:///var/run/docker.sock"; exit 0; fi
    if [ -S "$SOCK" ] && answers "unix://$SOCK"; then echo "engine answers at unix://$SOCK"; exit 0; fi
    echo "no engine answers; start one with scripts/docker-engine.sh start"; exit 1
    ;;
  start)
    if [ -n "${DOCKER_HOST:-}" ] && answers "$DOCKER_HOST"; then log "engine already answers at $DOCKER_HOST"; echo "$DOCKER_HOST"; exit 0; fi
    if [ -S /var/run/docker.sock ] && answers unix:///var/run/docker.sock; then log "engine already answers at /var/run/docker.sock"; echo unix:///var/run/docker.sock; exit 0; fi
    if [ -S "$SOCK" ] && answers "unix://$SOCK"; then log "engine already answers at $SOCK"; echo "unix://$SOCK"; exit 0; fi
    [ "$(id -u)" -eq 0 ] || die "starting an engine needs root (sudo $0 start), or start your own and set DOCKER_HOST"
    if ! command -v dockerd >/dev/null || [ ! -x /usr/bin/docker ]; then
      command -v apt-get >/dev/null || die "dockerd not found and apt-get missing: install a Docker engine and set DOCKER_HOST"
      log "apt-get install docker.io"
      # The package would start its own engine on /var/run/docker.sock with the default (overlay) storage; keep
      # it from doing so for the duration of the install, only if no policy is in place already.
      policy=/usr/sbin/policy-rc.d made_policy=0
      if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made_policy=1; fi
      trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io >/dev/null
      [ "$made_policy" = 1 ] && rm -f "$policy"
    fi
    mkdir -p "$STATE/data" "$RUNDIR/exec"
    if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then rm -f "$PIDFILE"; fi
    [ -f "$PIDFILE" ] && die "dockerd (pid $(cat "$PIDFILE")) runs but does not answer on $SOCK; see $LOG, or stop it with $0 stop"
    log "starting dockerd on $SOCK (vfs storage, data in $STATE/data, log $LOG)"
    # setsid: the engine outlives this script and the CI step that ran it.
    setsid dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
      -H "unix://$SOCK" --data-root "$STATE/data" --exec-root "$RUNDIR/exec" --pidfile "$PIDFILE" \
      >>"$LOG" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
      if answers "unix://$SOCK"; then log "engine answers"; echo "unix://$SOCK"; exit 0; fi
      sleep 0.5
    done
    die "dockerd did not answer on $SOCK within 30 s; last log lines: $(tail -3 "$LOG" | tr '\n' ' ')"
    ;;
  stop)
    [ -f "$PIDFILE" ] || { log "no engine started by this script is running"; exit 0; }
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping dockerd (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 20 s"
    fi
    rm -f "$PIDFILE"
    log "stopped"
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
