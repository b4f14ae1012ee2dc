#!/bin/sh
sleep 2
lvs --noheadings --separator '|' -o lv_health_status,sync_percent,lv_attr lab/r1 2>/dev/null |
    sed 's/^ */lvs_degraded=/'
start=$(date +%s%N)
head -c 20M /dev/urandom > /mnt/r1/during && sync; echo "write_degraded_exit=$?"
echo "write_degraded_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
echo "during_md5=$(md5sum < /mnt/r1/during | cut -c1-32)"
echo "missing_pvs=$(vgs --noheadings -o vg_missing_pv_count lab 2>/dev/null | tr -d ' ')"
dmesg | grep -E 'raid1|md/|dm-|virtio_blk' | tail -n 6 | sed 's/^\[[ 0-9.]*\] /kernel=/'
