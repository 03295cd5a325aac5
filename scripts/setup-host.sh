#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for everything this project does: npm dependencies, Debian source packages
# (the offline mirror for upstream tarballs), the build packages the recipes name, and the tools the tests use.
# Safe to run again: each step checks before it changes anything.
#
#   scripts/setup-host.sh                 this host's own Debian suites only
#   scripts/setup-host.sh --php 8.4,8.6   also deb-src (never deb) entries for the newer suites carrying those
#                                         minors' source packages (versions.yaml debianSuites), e.g. trixie, sid
#   scripts/setup-host.sh --arch arm64    also builds of arm64 layers on this x86_64 machine: the cross toolchain,
#                                         qemu-user-static and an arm64 sysroot (Debian's arm64 packages unpacked,
#                                         nothing arm64 installed). Without it nothing of this is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '» %s\n' "$*"; }
die() { printf 'setup-host: %s\n' "$*" >&2; exit 1; }

php_minors=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --php) [ $# -ge 2 ] || die "--php needs a value, e.g. --php 8.4,8.5"; php_minors="$2"; shift 2 ;;
    --php=*) php_minors="${1#--php=}"; shift ;;
    --arch) [ $# -ge 2 ] || die "--arch needs a value; accepted: x86_64, arm64"; targets+=("$2"); shift 2 ;;
    --arch=*) targets+=("${1#--arch=}"); shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf 'setup-host: unknown argument %s; accepted: --php <minors>, --arch x86_64|arm64\n' "$1" >&2; exit 2 ;;
  esac
done
for t in "${targets[@]}"; do
  case "$t" in x86_64|arm64) ;; *) printf 'setup-host: --arch %s: unknown architecture; accepted: x86_64, arm64\n' "$t" >&2; exit 2 ;; esac
done

command -v apt-get >/dev/null || die "apt-get not found: this script supports Debian and Ubuntu hosts only"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then command -v sudo >/dev/null || die "run as root or install sudo"; SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
APT_LOCK=(-o DPkg::Lock::Timeout=600)

# 1. deb-src entries mirroring the machine's own Debian/Ubuntu archive entries, so apt can fetch the upstream
#    tarballs Debian's source packages carry. URIs come from the existing configuration; nothing is hard-coded here.
src_file=/etc/apt/sources.list.d/php-layer-factory-src.sources
tmp=$(mktemp)
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] && [ "$f" != "$src_file" ] || continue
  # Only archive entries signed by the distribution's own keyring carry Sources indexes.
  awk -v RS= -v ORS='\n\n' '/Types:[^\n]*deb/ && /(debian|ubuntu)-archive-keyring/ && !/Types:[^\n]*deb-src/' "$f" \
    | sed 's/^Types:.*/Types: deb-src/' >>"$tmp"
done
if [ -f /etc/apt/sources.list ]; then
  grep -E '^deb\s' /etc/apt/sources.list | grep -Ei 'debian|ubuntu' | sed 's/^deb\s/deb-src /' \
    | awk 'BEGIN{print "# one-line entries from sources.list"} {print}' >"$tmp.list" || true
fi
changed=0
if [ -s "$tmp" ] && ! cmp -s "$tmp" "$src_file" 2>/dev/null; then
  log "enabling deb-src entries in $src_file"
  $SUDO install -m 0644 "$tmp" "$src_file"; changed=1
fi
if [ -s "$tmp.list" ] && [ "$(wc -l <"$tmp.list")" -gt 1 ] && ! cmp -s "$tmp.list" /etc/apt/sources.list.d/php-layer-factory-src.list 2>/dev/null; then
  $SUDO install -m 0644 "$tmp.list" /etc/apt/sources.list.d/php-layer-factory-src.list; changed=1
fi
rm -f "$tmp" "$tmp.list"

# 2. Package lists: refresh when deb-src was just added or the lists are missing or older than a day.
if [ "$changed" = 1 ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Sources*' -mtime -1 2>/dev/null | head -1)" ]; then
  log "apt-get update"
  $SUDO apt-get "${APT_LOCK[@]}" update -qq
fi

# 3. npm dependencies (the planner below needs them).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3b. Newer Debian suites, only for the minors asked for: their source packages (php8.4 in trixie/sid, php8.5 and
#     php8.6 in experimental) carry the upstream tarballs offline. Only deb-src lines, so the host's binary packages
#     never come from those suites. The URI is the one this host already uses for its main Debian archive.
if [ -n "$php_minors" ]; then
  suites_out=$(npx --no-install tsx builder/cli.ts debian-suites --php "$php_minors")
  mapfile -t suites <<<"$suites_out"
  [ -n "$suites_out" ] || suites=()
  newer_file=/etc/apt/sources.list.d/php-layer-factory-newer-src.sources
  if [ "${#suites[@]}" -gt 0 ]; then
    uri=""
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -e "$f" ] || continue
      uri=$(awk -v RS= '/Types:[^\n]*deb/ && /debian-archive-keyring/ && !/debian-security/' "$f" | sed -n 's/^URIs:[[:space:]]*//p' | head -1)
      [ -n "$uri" ] && break
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
      uri=$(grep -E '^deb\s' /etc/apt/sources.list | grep -v security | awk '/debian/ {print $2; exit}')
    fi
    [ -n "$uri" ] || die "no Debian archive entry found in apt's sources to derive deb-src entries for ${suites[*]} from"
    # Keep suites added earlier for other minors: the file only ever grows.
    have=$(sed -n 's/^Suites:[[:space:]]*//p' "$newer_file" 2>/dev/null || true)
    all=$(printf '%s\n' $have "${suites[@]}" | awk 'NF && !seen[$0]++' | paste -sd' ')
    tmp=$(mktemp)
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" "$all" >"$tmp"
    if ! cmp -s "$tmp" "$newer_file" 2>/dev/null; then
      log "enabling deb-src for $all (PHP $php_minors) in $newer_file"
      $SUDO install -m 0644 "$tmp" "$newer_file"
      rm -f "$tmp"
      $SUDO apt-get "${APT_LOCK[@]}" update -qq
    else
      rm -f "$tmp"
    fi
  fi
fi

# 4. Build packages named by the recipes (every extension, so any --ext selection builds), plus the tools the
#    pipeline and its tests call: gpg for signatures, binutils for strip, bubblewrap for the smoke sandbox,
#    Debian's php-cgi for fast runtime tests, redis-server, memcached and rabbitmq-server for the redis, memcached and
#    amqp add-ons' probes, and nginx + php-fpm (+ gd)
#    as the reference the runtime's parity suite compares against (the tests start them on loopback themselves).
# (Through a variable: a failing command substitution stops the script, a failing process substitution would not.)
pkgs_out=$(npx --no-install tsx builder/cli.ts packages --manager apt --all)
mapfile -t build_pkgs <<<"$pkgs_out"
tool_pkgs=(gnupg binutils xz-utils bubblewrap unzip php-cgi php-cli php-fpm php-gd nginx-light ca-certificates openssl redis-server memcached rabbitmq-server)
missing=()
for p in "${build_pkgs[@]}" "${tool_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  # Services in these packages (nginx, php-fpm) must not be started system-wide on port 80: the tests start
  # their own on loopback. A policy-rc.d that refuses every start does that, unless the host already has one.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get "${APT_LOCK[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$policy" ]; then $SUDO rm -f "$policy"; trap - EXIT; fi
fi

# 5. Other architectures asked for with --arch: the cross toolchain and qemu-user-static on the machine, and the
#    target's libraries in a sysroot. The target's -dev packages are never installed: several cannot coexist with
#    the machine's own (libonig-dev), and installing the others would move the machine's versions.
#    Instead their closure is downloaded from the same archive and unpacked into the sysroot the recipes name.
native=$(dpkg --print-architecture)
for t in "${targets[@]}"; do
  case "$t" in x86_64) deb=amd64 ;; arm64) deb=arm64 ;; esac
  [ "$deb" = "$native" ] && continue
  if ! dpkg --print-foreign-architectures | grep -qx "$deb"; then
    log "dpkg --add-architecture $deb (package lists only: nothing of $deb is installed)"
    $SUDO dpkg --add-architecture "$deb"
  fi
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name "*binary-${deb}_Packages*" 2>/dev/null | head -1)" ]; then
    log "apt-get update (adding $deb package lists)"
    $SUDO apt-get "${APT_LOCK[@]}" update -qq
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name "*binary-${deb}_Packages*" 2>/dev/null | head -1)" ] \
      || die "apt has no $deb package lists after update: this machine's apt sources do not serve $deb (Ubuntu keeps it on a separate ports archive; add it, or build $t natively)"
  fi
  mapfile -t tools < <(npx --no-install tsx builder/cli.ts packages --manager apt --all --arch "$t")
  missing=()
  for p in "${tools[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install (to build $t) ${missing[*]}"
    $SUDO apt-get "${APT_LOCK[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi

  mapfile -t sr < <(npx --no-install tsx builder/cli.ts packages --manager apt --all --arch "$t" --sysroot)
  [ "${#sr[@]}" -gt 1 ] || continue
  dir=${sr[0]}
  want=("${sr[@]:1}")
  # The closure: every $deb package the wanted ones depend on (Depends and Pre-Depends), at the archive's versions.
  mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${want[@]}" | grep -E "^[a-z0-9][a-z0-9.+-]*:${deb}\$" | sort -u)
  pinned=$(apt-cache policy "${closure[@]}" | awk '/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) } /^  Candidate:/ { print name "=" $2 }' | sort)
  if [ "$pinned" = "$(cat "$dir/.debs" 2>/dev/null)" ] && [ "$(printf '%s\n' "${want[@]}")" = "$(cat "$dir/.packages" 2>/dev/null)" ]; then
    continue
  fi
  log "unpacking ${#closure[@]} $deb packages into the sysroot $dir"
  tmpd=$(mktemp -d); chmod 755 "$tmpd"
  new="$dir.new-$$"
  trap 'rm -rf "$tmpd" "$new"' EXIT
  mapfile -t debs <<<"$pinned"
  (cd "$tmpd" && apt-get download -q "${debs[@]}" >/dev/null 2>&1) || die "apt-get download of the $deb sysroot packages failed"
  $SUDO mkdir -p "$new"
  for f in "$tmpd"/*.deb; do $SUDO dpkg-deb -x "$f" "$new"; done
  # Libraries, headers and .pc files only: the packages' programs are the target's, and documentation is noise.
  $SUDO rm -rf "$new/usr/bin" "$new/usr/sbin" "$new/bin" "$new/sbin" "$new/usr/share/doc" "$new/usr/share/man" "$new/usr/share/locale"
  # Absolute links point into the machine; make them point into the sysroot.
  find "$new" -type l -lname '/*' | while read -r l; do $SUDO ln -sfn "$dir$(readlink "$l")" "$l"; done
  printf '%s\n' "$pinned" | $SUDO tee "$new/.debs" >/dev/null
  printf '%s\n' "${want[@]}" | $SUDO tee "$new/.packages" >/dev/null
  $SUDO rm -rf "$dir"
  $SUDO mv "$new" "$dir"
  rm -rf "$tmpd"; trap - EXIT
done
log "host ready"
