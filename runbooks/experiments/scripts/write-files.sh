#!/bin/sh
# Write $2 random files of $3 bytes into the existing directory $1; print their sha256 sums.
dir=$1; count=$2; size=$3
cd "$dir" || exit 1
for i in $(seq 1 "$count"); do
    head -c "$size" /dev/urandom > "f$i"
done
sync && sha256sum f*
