#!/bin/sh
# The offline repair the lesson describes, then what is left readable ($1 snapshots).
snaps=$1
start=$(date +%s%N)
lvchange -q -an lab/mpool >/dev/null 2>&1
vgchange -q -an lab >/dev/null 2>&1; echo "deactivate_exit=$?"
lvconvert -q -y --repair lab/mpool >/tmp/repair.out 2>&1; echo "repair_exit=$?"
echo "repair_said=$(tr '\n' ' ' </tmp/repair.out | sed 's/  */ /g')"
lvextend -q --poolmetadatasize +8M lab/mpool >/dev/null 2>&1; echo "meta_extend_exit=$?"
lvchange -q -ay lab/origin >/dev/null 2>&1; echo "origin_activate_exit=$?"
echo "origin_md5_after=$(md5sum < /dev/lab/origin | cut -c1-32)"
active=0
for i in $(seq 1 "$snaps"); do
    lvchange -q -ay -K "lab/snap$i" >/dev/null 2>&1 && active=$((active + 1))
done
echo "snapshots_activated=$active"
echo "repair_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status lab/mpool |
    sed 's/^ */lvs_after=/'
lvs --noheadings -o lv_name lab | grep -c meta | sed 's/^/kept_metadata_copies=/'
