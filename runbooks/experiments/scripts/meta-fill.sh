#!/bin/sh
# Writes one 4 KiB block every 16 MiB (about one metadata leaf) into each of the
# $1 snapshots until a write fails; prints how many succeeded and the pool's state.
snaps=$1
ok=0; failed=0
start=$(date +%s%N)
for i in $(seq 1 "$snaps"); do
    for mib in $(seq 0 16 799); do
        if dd if=/dev/urandom of="/dev/lab/snap$i" bs=4k count=1 seek=$((mib * 256)) \
               oflag=direct conv=notrunc status=none 2>/dev/null; then
            ok=$((ok + 1))
        else
            failed=$((failed + 1)); [ "$failed" -ge 3 ] && break 2
        fi
    done
done
echo "writes_ok=$ok"
echo "writes_failed=$failed"
echo "fill_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status,lv_attr \
    lab/mpool | sed 's/^ */lvs_full=/'
dmesg | grep -E 'thin|metadata' | tail -n 6 | sed 's/^\[[ 0-9.]*\] /kernel=/'
