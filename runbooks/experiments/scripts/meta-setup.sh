#!/bin/sh
# Metadata runs out long after data in ordinary use (2 MiB of it maps gigabytes),
# so the experiment makes metadata expensive instead: snapshots of one origin,
# each then written once per metadata leaf, so that every write unshares a
# 4 KiB btree leaf while using one 64 KiB data chunk.
# $1 = how many snapshots of the origin to make.
snaps=$1
pvcreate -q -y /dev/vdb /dev/vdc >/dev/null 2>&1 && vgcreate -q lab /dev/vdb /dev/vdc \
    >/dev/null 2>&1 || exit 40
lvcreate -q -y --type thin-pool -L 1500M --poolmetadatasize 2M --chunksize 64k -n mpool lab \
    >/dev/null 2>&1 || exit 41
lvchange -q --errorwhenfull y lab/mpool >/dev/null 2>&1 || exit 42
lvcreate -q -y -V 800M -T lab/mpool -n origin >/dev/null 2>&1 || exit 43
head -c 800M /dev/urandom > /dev/lab/origin || exit 44
sync
echo "origin_md5=$(md5sum < /dev/lab/origin | cut -c1-32)"
for i in $(seq 1 "$snaps"); do
    lvcreate -q -y -s -n "snap$i" lab/origin >/dev/null 2>&1 || exit 45
done
# One argument per snapshot: the word splitting is wanted.
# shellcheck disable=SC2046
lvchange -q -ay -K lab/$(printf 'snap%s ' $(seq 1 "$snaps") | sed 's/ $//; s/ / lab\//g') \
    >/dev/null 2>&1 || exit 46
lvs --noheadings --separator '|' -o data_percent,metadata_percent,lv_health_status lab/mpool |
    sed 's/^ */lvs_before=/'
