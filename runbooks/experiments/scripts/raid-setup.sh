#!/bin/sh
pvcreate -q -y /dev/vdb /dev/vdc /dev/vdd >/dev/null 2>&1 &&
vgcreate -q lab /dev/vdb /dev/vdc /dev/vdd >/dev/null 2>&1 &&
lvcreate -q -y --type raid1 -m1 -L 128M -n r1 lab /dev/vdb /dev/vdc >/dev/null 2>&1 || exit 20
start=$(date +%s%N)
until [ "$(lvs --noheadings -o sync_percent lab/r1 | tr -d ' ')" = 100.00 ]; do sleep 0.5; done
echo "initial_sync_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
mkfs.ext4 -q /dev/lab/r1 && mkdir -p /mnt/r1 && mount /dev/lab/r1 /mnt/r1 || exit 21
head -c 50M /dev/urandom > /mnt/r1/before && sync
echo "before_md5=$(md5sum < /mnt/r1/before | cut -c1-32)"
