#!/usr/bin/env bash
# Builds the offline base image for dockerfiles/debian.Dockerfile: a minimal Debian root made by debootstrap from
# the machine's own apt mirror, imported with `docker import`. Needed only where no registry is reachable; CI on
# GitHub uses the real Amazon Linux 2023 image instead.
#
#   scripts/docker-base-image.sh            # builds the image named in versions.yaml (docker.debian.image) if absent
#   scripts/docker-base-image.sh --force    # rebuild it
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '» %s\n' "$*" >&2; }
die() { printf 'docker-base-image: %s\n' "$*" >&2; exit 1; }

force=0
[ "${1:-}" = --force ] && force=1
# The image name lives in versions.yaml, the one place the executor reads it from.
NAME=$(npx --no-install tsx builder/cli.ts engine --image debian)
SUITE=${NAME##*:}

# The engine: whatever answers (the executor's own lookup, which also finds scripts/docker-engine.sh's socket).
DOCKER_HOST=$(npx --no-install tsx builder/cli.ts engine --host) || die "no Docker engine answers; start one with scripts/docker-engine.sh start"
export DOCKER_HOST
DOCKER=$(command -v /usr/bin/docker docker | head -1)

if [ "$force" = 0 ] && "$DOCKER" image inspect "$NAME" >/dev/null 2>&1; then
  log "base image $NAME already present"; exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root (sudo $0)"
command -v apt-get >/dev/null || die "apt-get not found: the offline base image is built from a Debian/Ubuntu apt mirror"
if ! command -v debootstrap >/dev/null; then
  log "apt-get install debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The mirror this machine's apt already uses for the suite's main component (read now, never written down).
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' \
  | awk -v s="$SUITE" '$2 == s && $3 == "main" && $4 == "Packages" { print $1; exit }')
[ -n "$mirror" ] || die "apt has no '$SUITE main' entry to take a mirror from; add one to /etc/apt/sources.list.d/ and run apt-get update"
security=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(IDENTIFIER)' \
  | awk -v s="$SUITE-security" '$2 == s && $3 == "main" && $4 == "Packages" { print $1; exit }')

root=$(mktemp -d /var/tmp/php-layer-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
t0=$(date +%s)
log "debootstrap --variant=minbase $SUITE from the machine's apt mirror"
debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 || { tail -5 "$root.log" >&2; rm -f "$root.log"; die "debootstrap failed"; }
rm -f "$root.log"
# Same suites as the host: security updates too, so the image's -dev packages match what apt offers here.
{
  echo "deb $mirror $SUITE main"
  [ -n "$security" ] && echo "deb $security $SUITE-security main"
} >"$root/etc/apt/sources.list"
# Lean image: no package lists, caches or docs (vfs copies every byte on each layer).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/usr/share/doc/* "$root"/usr/share/man/*
log "docker import $NAME"
tar --numeric-owner -C "$root" -c . | "$DOCKER" import -c 'CMD ["bash"]' - "$NAME" >/dev/null
log "base image $NAME ready in $(( $(date +%s) - t0 )) s"
