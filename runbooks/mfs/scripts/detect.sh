#!/bin/sh
# Which client tools are installed, and the MooseFS major version: mfsmount --version
# prints "MFS version: 4.59.2-1 ; build: 2106" (MooseFS 4) or "MFS version: 3.0.117-1 ..."
# (3.0). Without mfsmount, only MooseFS 4's mfsfilerepair help mentions read-as-zeros.
for tool in mfscheckfile lizardfs; do
    command -v "$tool"
done
if command -v mfsmount >/dev/null 2>&1; then
    mfsmount --version 2>&1 | sed -n 's/^MFS version:* */mfs-version=/p'
elif command -v mfsfilerepair >/dev/null 2>&1; then
    if mfsfilerepair '-?' 2>&1 | grep -q 'read-as-zeros'; then
        echo "mfs-version=4.x (from mfsfilerepair's help)"
    fi
fi
exit 0
