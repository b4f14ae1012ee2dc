#!/bin/sh
# Fill a fresh thin pool in one mode; prints key=value lines.
# $1 = queue | error (every LVM name derives from it), $2 pool MiB, $3 thin volume MiB,
# $4 MiB to write.
mode=$1; pool_mib=$2; volume_mib=$3; write_mib=$4
vg=lab; pool=full_$mode; vol=vol_$mode; mnt=/mnt/$vol
lvcreate -q -y --type thin-pool -L "${pool_mib}M" -n "$pool" "$vg" >/dev/null 2>&1 || exit 10
# Queue is LVM's default (and lvchange refuses to set what is already set).
if [ "$mode" = error ]; then
    lvchange -q --errorwhenfull y "$vg/$pool" >/dev/null 2>&1 || exit 11
fi
lvcreate -q -y -V "${volume_mib}M" -T "$vg/$pool" -n "$vol" >/dev/null 2>&1 || exit 12
mkfs.ext4 -q -E nodiscard "/dev/$vg/$vol" || exit 13
mkdir -p "$mnt" && mount "/dev/$vg/$vol" "$mnt" || exit 14
dmesg -C
start=$(date +%s%N)
# A byte pattern, not zeros: blocks a full pool never stored read back as zeros.
tr '\0' 'B' </dev/zero | dd of="$mnt/fill" bs=1M count="$write_mib" iflag=fullblock conv=fsync \
    2>/tmp/dd.err
echo "dd_exit=$?"
echo "dd_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
echo "dd_error=$(grep '^dd:' /tmp/dd.err | head -n 1)"
echo "file_bytes=$(stat -c %s "$mnt/fill" 2>/dev/null || echo 0)"
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status,lv_when_full \
    "$vg/$pool" | sed 's/^ */lvs=/'
echo "mount_options=$(awk -v m="$mnt" '$2 == m {print $4}' /proc/mounts)"
dmesg | grep -E 'thin|EXT4-fs|I/O error' | sed 's/^\[[ 0-9.]*\] /kernel=/' | head -n 12
