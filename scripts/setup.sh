#!/usr/bin/env bash
# Set up wallthick from a fresh clone: Debian packages (when root), a virtual
# environment in .venv, and the package with the requested extras.
#   bash scripts/setup.sh            core + dev tools
#   bash scripts/setup.sh --gui      also napari (Qt 6), Xvfb and Chromium for tests
set -euo pipefail
cd "$(dirname "$0")/.."

GUI=0
[ "${1:-}" = "--gui" ] && GUI=1

apt_install() {
    local missing=()
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "setup: please install these Debian packages: ${missing[*]}" >&2
        return 1
    fi
    echo "setup: apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
fi
if [ "$GUI" = 1 ]; then
    # Qt 6 xcb platform + OpenGL for napari's canvas, an X server, and Chromium
    # for the report's browser test.
    apt_install xvfb xauth libgl1 libegl1 libopengl0 libxkbcommon-x11-0 libxcb-icccm4 \
        libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
        libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3 \
        libfontconfig1 libglib2.0-0 fonts-dejavu-core chromium
fi

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "$GUI" = 1 ]; then
    .venv/bin/python -m pip install -q -e ".[napari,dev]"
else
    .venv/bin/python -m pip install -q -e ".[dev]"
fi
echo "setup: ready (.venv)"
