#!/usr/bin/env bash
# Create .venv and install the project into it (editable).
#   bash scripts/bootstrap.sh        the runbooks and the site
#   bash scripts/bootstrap.sh test   plus the test tools
# Safe to run again: an existing .venv is reused and brought up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: Python 3.11 or newer is needed, found $(python3 --version 2>&1)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
    # Debian splits venv support into its own package.
    echo "bootstrap: installing python3-venv" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=${1:+[$1]}
echo "bootstrap: installing breaking-point${extras} into .venv" >&2
# (pip's notes about find-links folders that do not exist on this machine are noise)
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
# The site's search shim, from the npm registry (the site itself loads nothing
# from other hosts).
.venv/bin/python -m runbooks.vendor

if [ "${1:-}" = test ] && ! command -v chromium >/dev/null; then
    # The browser test drives Debian's Chromium (Playwright's own download is not used).
    if [ "$(id -u)" != 0 ]; then
        echo "error: the browser test needs Debian's chromium; run as root or: apt-get install chromium" >&2
        exit 1
    fi
    echo "bootstrap: installing chromium for the browser test" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
