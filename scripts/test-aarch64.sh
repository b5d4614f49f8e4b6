#!/usr/bin/env bash
# Run the device-side tests (tests/test_runtime_*.py) on aarch64 Linux, emulated on this x86_64
# machine, once per interpreter install a device really gets (scripts/aarch64/sites.txt):
#   litert      ai-edge-litert as pip picks it on a glibc-2.36 device (Raspberry Pi OS Bookworm)
#   litert-min  the oldest supported ai-edge-litert (what a glibc < 2.27 device gets)
#   tflite      tflite-runtime 2.14 with numpy<2
#
# How: Debian 12 arm64 packages (python3.11 and the libraries it and the wheels need, versions
# pinned in scripts/aarch64/debian.lock) are unpacked with `dpkg -x` into a sysroot; aarch64
# wheels (pinned in scripts/aarch64/NAME.lock) are installed with `pip install --target
# --platform ...`; `qemu-aarch64-static -L SYSROOT` runs that python. No TensorFlow, no binfmt
# registration. Both are cached under $XDG_CACHE_HOME/edge-emotion/aarch64/ (or
# ~/.cache/edge-emotion/aarch64/), keyed by a hash of the pins, so a rerun only runs the tests.
# The runtime itself is installed fresh from ./runtime on every run.
#
# Also: a parity check (tests/test_runtime_parity.py) against outputs computed on x86 with the
# dev venv, and `edge-emotion-run PHOTO` on a real photo when the runtime has a photo pipeline.
# Timings under emulation say nothing about a device; none are reported as such.
#
# Usage: bash scripts/test-aarch64.sh [--only NAME]... [--update-pins] [-- PYTEST_ARGS...]
# Environment: PYTHON (host python with pip, default python3), VENV (dev venv, default .venv),
#   EDGE_EMOTION_AARCH64_CACHE (cache dir), EDGE_EMOTION_QEMU_CPU (cortex-a72 = Pi 4, default;
#   cortex-a76 = Pi 5; cortex-a53 = Pi 3 / Zero 2), EDGE_EMOTION_PHOTO (default
#   ../shared/photos/astronaut.png).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PINS="$ROOT/scripts/aarch64"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
CACHE="${EDGE_EMOTION_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edge-emotion/aarch64}"
CPU="${EDGE_EMOTION_QEMU_CPU:-cortex-a72}"
PHOTO="${EDGE_EMOTION_PHOTO:-../shared/photos/astronaut.png}"
PY=3.11
# The Debian packages the sysroot is made of: these and everything they depend on.
DEB_ROOTS=(python3.11 libstdc++6)
LAYOUT=1 # bump when the way the cache is built changes

say() { printf 'aarch64: %s\n' "$*" >&2; }
die() {
  printf 'aarch64: error: %s\n' "$*" >&2
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; }

only=()
update=0
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only)
      [ $# -ge 2 ] || die "--only needs a NAME"
      only+=("$2")
      shift 2
      ;;
    --update-pins) update=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    --) shift && pytest_args=("$@") && break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[ "$(uname -m)" = x86_64 ] || die "this script emulates aarch64 on an x86_64 Linux host; on an \
aarch64 machine install ./runtime and run pytest tests/test_runtime_*.py directly"
command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  die "needs apt-get and dpkg (a Debian or Ubuntu host) to fetch the Debian arm64 packages"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' does not work; set PYTHON"

# ---------------------------------------------------------------- sites
declare -A GLIBC REQS
SITES=()
while read -r name glibc reqs; do
  case "$name" in '' | '#'*) continue ;; esac
  SITES+=("$name")
  GLIBC[$name]="$glibc"
  REQS[$name]="$reqs"
done <"$PINS/sites.txt"
for name in "${only[@]}"; do
  [ -n "${GLIBC[$name]:-}" ] || die "unknown site '$name' (scripts/aarch64/sites.txt has: ${SITES[*]})"
done
[ ${#only[@]} -gt 0 ] && SITES=("${only[@]}")

# pip --platform tags a device with glibc 2.MAX accepts (pip itself lists the same set there).
platform_args() {
  local max="${1#2.}" minor
  printf -- '--platform manylinux2014_aarch64 '
  for ((minor = 17; minor <= max; minor++)); do printf -- '--platform manylinux_2_%d_aarch64 ' "$minor"; done
}
pip_aarch64() {
  local glibc="$1"
  shift
  # shellcheck disable=SC2046
  "$PYTHON" -m pip "$@" --quiet --disable-pip-version-check --root-user-action=ignore \
    --only-binary=:all: \
    $(platform_args "$glibc") --python-version "$PY"
}

# ---------------------------------------------------------------- apt, private to the cache
# Debian's arm64 archive through apt with its own state under $CACHE/apt: no change to this
# machine's dpkg architectures or apt lists, and no root needed.
APT_DIR="$CACHE/apt"
apt_ready=0
apt_setup() {
  [ "$apt_ready" = 1 ] && return
  mkdir -p "$APT_DIR"/{lists/partial,archives/partial,etc/sources.list.d,etc/preferences.d,etc/apt.conf.d}
  : >"$APT_DIR/status"
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$key" ] || die "missing $key (apt-get install debian-archive-keyring)"
  cat >"$APT_DIR/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$key] http://deb.debian.org/debian bookworm main
deb [arch=arm64 signed-by=$key] http://deb.debian.org/debian bookworm-updates main
deb [arch=arm64 signed-by=$key] http://deb.debian.org/debian-security bookworm-security main
EOF
  cat >"$APT_DIR/apt.conf" <<EOF
Dir::State "$APT_DIR";
Dir::State::Lists "$APT_DIR/lists";
Dir::State::status "$APT_DIR/status";
Dir::Cache "$APT_DIR";
Dir::Cache::archives "$APT_DIR/archives";
Dir::Etc "$APT_DIR/etc";
APT::Architecture "arm64";
APT::Architectures "arm64";
APT::Install-Recommends "false";
APT::Sandbox::User "$(id -un)";
EOF
  export APT_CONFIG="$APT_DIR/apt.conf"
  say "apt-get update (Debian 12 bookworm, arm64 only, state in $APT_DIR)"
  apt-get -qq update >"$APT_DIR/update.log" 2>&1 || {
    cat "$APT_DIR/update.log" >&2
    die "apt-get update of the Debian arm64 archive failed"
  }
  apt_ready=1
}

sha() { sha256sum "$@" | cut -c1-16; }

# ---------------------------------------------------------------- --update-pins
update_pins() {
  apt_setup
  local lock="$PINS/debian.lock" plan
  plan="$(apt-get install -s "${DEB_ROOTS[@]}" 2>&1)" || {
    echo "$plan" >&2
    die "cannot resolve ${DEB_ROOTS[*]} for arm64"
  }
  local pvs=() pv sum
  mapfile -t pvs < <(awk '/^Inst /{print $2"="substr($3, 2)}' <<<"$plan" | sort)
  [ ${#pvs[@]} -gt 0 ] || die "apt resolved no packages for ${DEB_ROOTS[*]}"
  {
    echo "# Debian 12 (bookworm) arm64 packages of the aarch64 sysroot: ${DEB_ROOTS[*]} and their"
    echo "# dependencies. Written by: bash scripts/test-aarch64.sh --update-pins"
    echo "# package=version sha256"
  } >"$lock.tmp"
  for pv in "${pvs[@]}"; do
    sum="$(apt-cache show "$pv" | awk '/^SHA256:/{print $2; exit}')"
    [ -n "$sum" ] || die "no SHA256 for $pv"
    echo "$pv $sum" >>"$lock.tmp"
  done
  mv "$lock.tmp" "$lock"
  say "wrote $lock ($(grep -vc '^#' "$lock") packages)"
  local name tmp
  for name in "${SITES[@]}"; do
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2086
    pip_aarch64 "${GLIBC[$name]}" download --dest "$tmp" ${REQS[$name]} ||
      die "pip cannot resolve '${REQS[$name]}' for aarch64 glibc ${GLIBC[$name]}"
    {
      echo "# $name: ${REQS[$name]} for Python $PY on aarch64 Linux with glibc ${GLIBC[$name]}"
      echo "# (scripts/aarch64/sites.txt). Written by: bash scripts/test-aarch64.sh --update-pins"
      for whl in "$tmp"/*.whl; do
        whl="$(basename "$whl")"
        IFS=- read -r dist version _ <<<"$whl"
        [ "$dist" = edge_emotion_runtime ] || echo "$dist==$version"
      done | sort -f
    } >"$PINS/$name.lock"
    rm -rf "$tmp"
    say "wrote $PINS/$name.lock: $(grep -v '^#' "$PINS/$name.lock" | tr '\n' ' ')"
  done
}
if [ "$update" = 1 ]; then
  update_pins
  exit 0
fi

# ---------------------------------------------------------------- qemu
if ! command -v qemu-aarch64-static >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing qemu-user-static with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get -qq update && apt-get -qq install -y --no-install-recommends qemu-user-static; } \
      </dev/null >&2 || die "apt-get install qemu-user-static failed"
  else
    die "qemu-aarch64-static not found: sudo apt-get install qemu-user-static"
  fi
fi
QEMU="$(command -v qemu-aarch64-static)"

# ---------------------------------------------------------------- sysroot (cached)
build_sysroot() {
  local lock="$PINS/debian.lock" key dir
  [ -f "$lock" ] || die "missing $lock: run bash scripts/test-aarch64.sh --update-pins"
  key="$( (
    echo "$LAYOUT"
    cat "$lock"
  ) | sha)"
  dir="$CACHE/sysroot-$key"
  SYSROOT="$dir"
  [ -f "$dir/.complete" ] && return
  say "building the sysroot $dir from $(grep -vc '^#' "$lock") pinned Debian packages"
  apt_setup
  local debs="$CACHE/debs" want=() pv sum missing=()
  mkdir -p "$debs"
  while read -r pv sum; do
    case "$pv" in '' | '#'*) continue ;; esac
    want+=("$sum")
    [ -f "$debs/$sum.deb" ] || missing+=("$pv")
  done <"$lock"
  if [ ${#missing[@]} -gt 0 ]; then
    local tmp
    tmp="$(mktemp -d "$debs/download.XXXXXX")"
    (cd "$tmp" && apt-get -qq download "${missing[@]}") >&2 ||
      die "a pinned Debian package is no longer in the archive (Debian replaces point and \
security releases); refresh the pins with: bash scripts/test-aarch64.sh --update-pins"
    for deb in "$tmp"/*.deb; do mv "$deb" "$debs/$(sha256sum "$deb" | cut -d' ' -f1).deb"; done
    rm -rf "$tmp"
  fi
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  for sum in "${want[@]}"; do
    [ -f "$debs/$sum.deb" ] || die "downloaded packages do not match the sha256 pins in $lock"
    dpkg -x "$debs/$sum.deb" "$dir.tmp"
  done
  # qemu -L looks up absolute paths in the sysroot first and falls back to this machine's
  # files. Empty site dirs keep the host's /usr/lib/python3/dist-packages out of sys.path.
  mkdir -p "$dir.tmp/usr/lib/python3/dist-packages" "$dir.tmp/usr/local/lib/python$PY/dist-packages"
  # Debian compiles the stdlib in its postinst; do it once here (pyc files are the same on any
  # architecture), or every emulated start compiles what it imports.
  "$QEMU" -L "$dir.tmp" "$dir.tmp/usr/bin/python$PY" -m compileall -q -j0 \
    -x '/lib2to3/tests/' "$dir.tmp/usr/lib/python$PY" >/dev/null ||
    die "compiling the sysroot's standard library failed"
  touch "$dir.tmp/.complete"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
}

build_site() {
  local name="$1" lock="$PINS/$1.lock" key dir
  [ -f "$lock" ] || die "missing $lock: run bash scripts/test-aarch64.sh --update-pins"
  key="$( (
    echo "$LAYOUT $PY ${GLIBC[$name]}"
    cat "$lock"
  ) | sha)"
  dir="$CACHE/site-$name-$key"
  SITE="$dir"
  [ -f "$dir/.complete" ] && return
  say "installing the $name wheels into $dir: $(grep -v '^#' "$lock" | tr '\n' ' ')"
  rm -rf "$dir.tmp"
  pip_aarch64 "${GLIBC[$name]}" install --no-deps --target "$dir.tmp" -r "$lock" ||
    die "pip cannot install the pinned $name wheels for aarch64 (see above)"
  touch "$dir.tmp/.complete"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
}

# A /proc/cpuinfo in the sysroot: qemu-user passes the host's x86 one through, on which the
# aarch64 cpuinfo library of ai-edge-litert 2.x crashes (SIGSEGV in Interpreter()). A device
# has an ARM one; this is the one the emulated CPU model would show (one entry per host CPU).
write_cpuinfo() {
  local part features n
  case "$CPU" in
    cortex-a53) part=0xd03 features="fp asimd evtstrm crc32 cpuid" ;;
    cortex-a72) part=0xd08 features="fp asimd evtstrm crc32 cpuid" ;;
    cortex-a76) part=0xd0b features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp \
asimdhp cpuid asimdrdm lrcpc dcpop asimddp" ;;
    *) die "EDGE_EMOTION_QEMU_CPU=$CPU: choose cortex-a53, cortex-a72 or cortex-a76" ;;
  esac
  n="$(nproc --all)"
  mkdir -p "$SYSROOT/proc"
  for ((i = 0; i < n; i++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$i" "$features"
    printf 'CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 3\n\n' "$part"
  done >"$SYSROOT/proc/cpuinfo.$$"
  mv "$SYSROOT/proc/cpuinfo.$$" "$SYSROOT/proc/cpuinfo"
}

# ---------------------------------------------------------------- run
start_all=$SECONDS
mkdir -p "$CACHE"
build_sysroot
write_cpuinfo
for name in "${SITES[@]}"; do build_site "$name"; done
say "cache ready in $((SECONDS - start_all)) s ($CACHE)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/edge-emotion-aarch64.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# The x86 side of the parity test, from the dev venv (ai-edge-litert on x86_64).
VENV="$VENV" bash scripts/setup.sh
"$VENV/bin/python" tests/parity.py "$WORK/parity-x86.json" 2>&1 | grep -v '^INFO: ' >&2

# The runtime as a device installs it (pure Python, so built once for every site), from a copy
# so that the build leaves nothing in the checkout.
mkdir "$WORK/src"
tar -C "$ROOT" --exclude='*.egg-info' --exclude=build --exclude=__pycache__ -cf - runtime |
  tar -C "$WORK/src" -xf -
"$PYTHON" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  --no-deps --target "$WORK/runtime" "$WORK/src/runtime" || die "pip cannot install ./runtime"

failed=()
for name in "${SITES[@]}"; do
  build_site "$name"
  bin="$WORK/$name/bin"
  mkdir -p "$bin"
  # `python3.11` here is the emulated interpreter; it is also sys.executable inside, so tests
  # that start `sys.executable` or the `edge-emotion-run` beside it start emulated processes.
  cat >"$bin/python$PY" <<EOF
#!/bin/sh
exec "$QEMU" -cpu "$CPU" -L "$SYSROOT" -0 "\$0" "$SYSROOT/usr/bin/python$PY" "\$@"
EOF
  chmod +x "$bin/python$PY"
  ln -s "python$PY" "$bin/python"
  sed "1s|.*|#!$bin/python$PY|" "$WORK/runtime/bin/edge-emotion-run" >"$bin/edge-emotion-run"
  chmod +x "$bin/edge-emotion-run"

  site_start=$SECONDS
  (
    unset PYTHONHOME VIRTUAL_ENV EDGE_EMOTION_MODEL EDGE_EMOTION_TFLITE_PYTHON
    export PYTHONPATH="$WORK/runtime:$SITE" PYTHONNOUSERSITE=1 PYTHONDONTWRITEBYTECODE=1
    export EDGE_EMOTION_PARITY_REFERENCE="$WORK/parity-x86.json"
    export PATH="$bin:$PATH"
    "$bin/python$PY" -P - "$name" "$CPU" <<'EOF' || exit 1
import importlib.metadata as md
import importlib.util
import platform
import sys

name, cpu = sys.argv[1:]
if platform.machine() != "aarch64":
    sys.exit(f"aarch64: error: the emulated python says it runs on {platform.machine()}")
if importlib.util.find_spec("tensorflow") is not None:
    sys.exit("aarch64: error: TensorFlow is importable in the device install")
have = []
for dist in ("ai-edge-litert", "tflite-runtime", "numpy", "pillow", "edge-emotion-runtime"):
    try:
        have.append(f"{dist} {md.version(dist)}")
    except md.PackageNotFoundError:
        pass
print(
    f"\n== aarch64 [{name}]: platform {platform.machine()} (qemu {cpu}), "
    f"Python {platform.python_version()}, {', '.join(have)}",
    file=sys.stderr,
    flush=True,
)
EOF
    # Every device-side test file, including ones added after this script was written.
    "$bin/python$PY" -P -m pytest -p no:cacheprovider -q tests/test_runtime_*.py \
      "${pytest_args[@]}" || exit 1
    # The photo pipeline on a real photo, once the runtime has one (face detection + bundled
    # model: `--detect`); before that there is nothing to run.
    if "$bin/edge-emotion-run" --help 2>/dev/null | grep -q -- '--detect'; then
      if [ ! -f "$PHOTO" ]; then
        say "[$name] $PHOTO not found: photo check skipped (set EDGE_EMOTION_PHOTO)"
      else
        say "[$name] edge-emotion-run $PHOTO"
        out="$("$bin/edge-emotion-run" "$PHOTO" --json)" || exit 1
        echo "$out"
        "$bin/python$PY" -P -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin.read().splitlines() if line.strip()]
faces = [[f["label"] for f in r["faces"]] for r in rows]
if faces != [["happy"]]:
    sys.exit(f"aarch64: error: expected one image with one face labelled happy, got {faces}")
' <<<"$out" || exit 1
      fi
    else
      say "[$name] edge-emotion-run has no --detect yet: photo check not applicable"
    fi
  ) || failed+=("$name")
  say "[$name] done in $((SECONDS - site_start)) s (emulated: not a device timing)"
done

say "total $((SECONDS - start_all)) s for ${SITES[*]}"
if [ ${#failed[@]} -gt 0 ]; then
  die "failed on aarch64: ${failed[*]}"
fi
say "all passed on aarch64: ${SITES[*]}"
