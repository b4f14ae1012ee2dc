#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -o remount,rw /
mkdir -p /run/sshd /run/lvm /run/lock
hostname lvm-vm
for module in dm_mod dm_thin_pool dm_raid raid1 dm_mirror dm_snapshot virtio_net; do
    modprobe "$module"
done
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle --timeout=20
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
dmeventd
/usr/sbin/sshd
echo "bp-init: ready" > /dev/ttyS0
while :; do sleep 3600; done
