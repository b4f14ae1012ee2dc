#!/bin/sh
# Recovery as the runbook page does it: grow the pool, then check the filesystem.
# $1 = queue | error (as for thin-fill.sh), $2 = MiB to add to the pool.
mode=$1; extend_mib=$2; vg=lab; pool=full_$mode; vol=vol_$mode; mnt=/mnt/$vol
start=$(date +%s%N)
lvextend -q -L "+${extend_mib}M" "$vg/$pool" >/dev/null 2>&1; echo "extend_exit=$?"
umount "$mnt"; echo "umount_exit=$?"
fsck.ext4 -fy "/dev/$vg/$vol" >/tmp/fsck.out 2>&1; echo "fsck_exit=$?"
mount "/dev/$vg/$vol" "$mnt" &&
    echo "file_bytes_after=$(stat -c %s "$mnt/fill" 2>/dev/null || echo 0)" &&
    echo "pattern_bytes_after=$(tr -cd 'B' <"$mnt/fill" | wc -c)"
umount "$mnt"
echo "recover_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
lvs --noheadings --separator '|' -o data_percent,lv_health_status "$vg/$pool" |
    sed 's/^ */lvs_after=/'
lvremove -q -y "$vg/$vol" "$vg/$pool" >/dev/null 2>&1; echo "cleanup_exit=$?"
