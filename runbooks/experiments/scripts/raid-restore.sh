#!/bin/sh
# Bring the raid1 leg back: $1 = the device that went missing.
dev=$1
start=$(date +%s%N)
pvs "$dev" >/dev/null 2>&1 || exit 30
vgextend --restoremissing lab "$dev" >/dev/null 2>&1; echo "restoremissing_exit=$?"
lvchange --refresh lab/r1 >/dev/null 2>&1; echo "refresh_exit=$?"
until [ "$(lvs --noheadings -o sync_percent lab/r1 | tr -d ' ')" = 100.00 ]; do sleep 0.5; done
echo "resync_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o lv_health_status,sync_percent,lv_attr lab/r1 |
    sed 's/^ */lvs_after=/'
echo "before_md5_after=$(md5sum < /mnt/r1/before | cut -c1-32)"
echo "during_md5_after=$(md5sum < /mnt/r1/during | cut -c1-32)"
echo "raid_mismatch_count=$(lvs --noheadings -o raid_mismatch_count lab/r1 | tr -d ' ')"
