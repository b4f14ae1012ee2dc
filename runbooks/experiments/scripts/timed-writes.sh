#!/bin/sh
# Write $2 files of 100 kB into the existing directory $1, each closed and synced on its
# own: a "t START END" line per file, then the sha256 sums of all of them.
dir=$1; count=$2
cd "$dir" || exit 1
for i in $(seq 1 "$count"); do
    s=$(date +%s.%N)
    head -c 100000 /dev/urandom > "f$i" && sync "f$i"
    e=$(date +%s.%N)
    echo "t $s $e"
done
sha256sum f*
