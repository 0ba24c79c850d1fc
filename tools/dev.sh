#!/usr/bin/env bash
# Sets up everything on a fresh Debian machine and runs the demo or the test suite.
#   ./tools/dev.sh demo [ARGS]   the appliance on simulated hardware (gma-edge demo ARGS)
#   ./tools/dev.sh test [ARGS]   lint, type-check and the whole test suite (pytest ARGS)
# The environment lives in .venv at the repository root; it is rebuilt only when
# pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Debian packages the test suite needs beyond Python itself: the display's browser test runs
# Debian's chromium under Playwright.
TEST_DEBS=(chromium)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else echo "dev.sh: need root to run: $*" >&2; exit 1
    fi
}

ensure_debs() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
            || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "dev.sh: installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}"
    fi
}

ensure_venv() {
    local extras=$1
    if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null; then
        echo "dev.sh: needs Python 3.10 or newer as $PYTHON" >&2; exit 1
    fi
    # Debian splits venv and ensurepip into python3-venv.
    if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
        ensure_debs python3-venv
    fi
    [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
    local stamp=.venv/.gma-edge-installed
    local want
    want="$extras $(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt "pip==$(grep -oP '^pip==\K.*' constraints.txt)"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check \
            -c constraints.txt -e ".$extras"
        echo "$want" > "$stamp"
    fi
}

action=${1:-}
shift || true
case "$action" in
    demo)
        ensure_venv ""
        exec .venv/bin/gma-edge demo "$@"
        ;;
    test)
        [ "${#TEST_DEBS[@]}" -eq 0 ] || ensure_debs "${TEST_DEBS[@]}"
        ensure_venv "[dev]"
        .venv/bin/ruff check edge tests tools
        .venv/bin/mypy edge
        exec .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: $0 demo [ARGS] | test [PYTEST ARGS]" >&2
        exit 2
        ;;
esac
