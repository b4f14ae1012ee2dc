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
# The site build's tools always; the test tools when asked.
extras="[site${1:+,$1}]"
echo "bootstrap: installing breaking-point${extras} into .venv" >&2
# (pip's notes about find-links folders that do not exist on this machine are noise)
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" \
    2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
# The site's search shim, from the npm registry (the site itself loads nothing
# from other hosts).
.venv/bin/python -m runbooks.site.vendor

# Debian packages the tests use, installed when missing: COMMAND PACKAGE WHAT-NEEDS-IT
need_debian_package() {
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "error: $3 needs Debian's $2; run as root or: apt-get install $2" >&2
        exit 1
    fi
    echo "bootstrap: installing $2 for $3" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
if [ "${1:-}" = test ]; then
    # The browser test drives Debian's Chromium (Playwright's own download is not used).
    need_debian_package chromium chromium "the browser test"
    # tests/project/test_shellcheck.py lints every shell script under runbooks/.
    need_debian_package shellcheck shellcheck "the shell script test"
    # tests/core/test_inventory_ansible.py reads inventories with Ansible's own
    # ansible-inventory and compares: ansible-core from PyPI, in a venv of its own.
    if [ ! -x .venv-ansible/bin/ansible-inventory ]; then
        echo "bootstrap: installing ansible-core into .venv-ansible" >&2
        python3 -m venv .venv-ansible
        .venv-ansible/bin/python -m pip install -q --disable-pip-version-check \
            "ansible-core>=2.17,<2.18" \
            2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
    fi
fi
