#!/usr/bin/env bash
# Installs the Debian packages the real-server tests need (test/**/*.test.ts). Idempotent: packages that
# are already installed are left alone, and apt-get update runs only when something is missing.
# Services are not started on install (policy-rc.d exits 101 meanwhile): tests start their own
# throwaway servers on free loopback ports, and a system service would hold the default ports.
set -euo pipefail

PACKAGES=(
  redis-server
  postgresql
  inspircd
  ngircd
  atheme-services
  prosody
  kamailio
  baresip
  coturn
  biboumi
  chromium
  sip-tester
  iproute2
  iptables
)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: this script needs a Debian-based system (dpkg and apt-get)." >&2
  exit 1
fi

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all ${#PACKAGES[@]} packages are already installed."
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-test-deps: missing ${missing[*]}; run this script as root or install sudo." >&2
  exit 1
fi

POLICY=/usr/sbin/policy-rc.d
BACKUP=""
started=$(date +%s)

restore_policy() {
  if [ -n "$BACKUP" ]; then
    "${SUDO[@]}" mv -f "$BACKUP" "$POLICY"
  else
    "${SUDO[@]}" rm -f "$POLICY"
  fi
}

# Keep a policy-rc.d that was already there (Docker images ship one) and put it back afterwards.
if [ -e "$POLICY" ]; then
  BACKUP="$POLICY.switchboard-backup.$$"
  "${SUDO[@]}" cp -p "$POLICY" "$BACKUP"
fi
trap restore_policy EXIT
printf '#!/bin/sh\n# installed by switchboard scripts/install-test-deps.sh: no service starts during install\nexit 101\n' |
  "${SUDO[@]}" tee "$POLICY" >/dev/null
"${SUDO[@]}" chmod 755 "$POLICY"

# Other scripts on the same machine may run apt at the same time: wait for the dpkg lock, not fail.
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
LOCK=()
if command -v flock >/dev/null 2>&1; then LOCK=(flock /tmp/apt.lock); fi

echo "install-test-deps: installing ${missing[*]}"
"${SUDO[@]}" "${LOCK[@]}" "${APT[@]}" update
"${SUDO[@]}" "${LOCK[@]}" "${APT[@]}" install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
  is_installed "$p" || still+=("$p")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "install-test-deps: these packages did not install: ${still[*]}" >&2
  exit 1
fi
echo "install-test-deps: installed ${#missing[@]} package(s) in $(($(date +%s) - started)) s."
