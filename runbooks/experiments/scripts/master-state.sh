#!/bin/sh
# What the filesystem holds in $1 after the restore, one line per entry:
# "NAME SIZE CONTENT" with the content's lines joined by commas, or "?" when the
# file cannot be read within $2 seconds (a chunk no server has blocks a read; a read
# blocked in the FUSE client ignores SIGTERM, hence the SIGKILL a second later).
dir=$1; wait=${2:-5}
cd "$dir" || exit 1
for f in *; do
    [ -f "$f" ] || continue
    size=$(stat -c %s "$f") || continue
    if content=$(timeout -k 1 "$wait" cat "$f"); then
        printf '%s %s %s\n' "$f" "$size" "$(printf '%s' "$content" | tr '\n' ',')"
    else
        printf '%s %s ?\n' "$f" "$size"
    fi
done
