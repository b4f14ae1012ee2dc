#!/bin/sh
# A 2-chunk file /mnt/mfs/d/f at goal 1: chunk 0 on the servers labelled A (cs1),
# chunk 1 on those labelled B (cs2). Keep labels "A+B" (A or B) let chunk 0 stay
# on cs1 while chunk 1 is created on cs2.
set -e
mfsscadmin /mnt/mfs modify -f -m s -C A -K A+B 1 >/dev/null
mkdir -p /mnt/mfs/d
mfssetgoal 1 /mnt/mfs/d >/dev/null
head -c 67108864 /dev/urandom > /mnt/mfs/d/f
sync
mfsscadmin /mnt/mfs modify -f -m s -C B -K A+B 1 >/dev/null
head -c 1048576 /dev/urandom >> /mnt/mfs/d/f
sync
