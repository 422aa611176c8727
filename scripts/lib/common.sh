# Shared by scripts/*: package installation and the build. Source it; do not run it.

HUTCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Base packages: building the addon and running containers.
HUTCH_BASE_PACKAGES=(build-essential python3 libseccomp-dev busybox-static iproute2 iptables)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "$0: run as root (containers need it): sudo $0" >&2
    exit 1
  fi
}

# ensure_packages PKG...: apt-get installs the ones that are missing.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "${HUTCH_APT_UPDATED:-}" ]; then
    apt-get update -q >/dev/null
    export HUTCH_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# build: npm packages, the native addon + hutch-init, TypeScript; then installs the
# binaries on PATH (/usr/local/bin) so daemons (containerd, dockerd) find them.
build_hutch() {
  cd "$HUTCH_ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  log "building the native addon and hutch-init"
  # configure once, then make's own incremental build; node headers from the system node
  [ -f build/Makefile ] && [ build/Makefile -nt binding.gyp ] || npx --no-install node-gyp configure --silent --nodedir=/usr >/dev/null
  npx --no-install node-gyp build --silent --nodedir=/usr -j 2 >/dev/null
  log "generating protobuf code"
  bash scripts/gen-proto
  log "compiling TypeScript"
  npx --no-install tsc -p tsconfig.json
  bash scripts/bundle
  install_bins
}

install_bins() {
  local prefix="${HUTCH_PREFIX:-/usr/local}"
  mkdir -p "$prefix/bin"
  for b in "$HUTCH_ROOT"/bin/*; do
    ln -sfn "$b" "$prefix/bin/$(basename "$b")"
  done
  log "installed $(ls "$HUTCH_ROOT/bin" | tr '\n' ' ')in $prefix/bin"
}
