#!/bin/sh
# master-undo DIR BACKUP: stop mfsmaster, move its files to BACKUP.undone, put BACKUP's back
set -u
if pgrep -x mfsmaster >/dev/null; then mfsmaster stop || exit 1; fi
mkdir -p "$2.undone" || exit 1
for f in "$1"/metadata* "$1"/changelog* "$1"/sessions* "$1"/stats.mfs; do
    if [ -f "$f" ]; then mv "$f" "$2.undone/" || exit 1; fi
done
cp -p "$2"/* "$1/"
