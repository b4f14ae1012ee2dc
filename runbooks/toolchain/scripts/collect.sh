#!/bin/sh
# toolchain.check on a target: facts, one per line (see runbooks/toolchain/collect.py).
export LC_ALL=C
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/opt/VRTS/bin"
kver=$(uname -r)
moddir="/lib/modules/$kver"
printf 'kernel\t%s\n' "$kver"
for f in /etc/os-release /usr/lib/os-release; do
    if [ -r "$f" ]; then
        while IFS= read -r line || [ -n "$line" ]; do printf 'os\t%s\n' "$line"; done < "$f"
        break
    fi
done
limit() {  # a slow or hanging tool must not hold up the whole check
    if command -v timeout >/dev/null 2>&1; then timeout 10 "$@"; else "$@"; fi
}
report() {  # KEY BINARY PATH EXIT OUTPUT
    printf 'tool\t%s\t%s\t%s\t%s\t' "$1" "$2" "$3" "$4"
    printf '%s\n' "$5" | head -n 40 | tr '\t\n' ' \037'
    printf '\n'
}
tool() {  # KEY BINARY [ARGS...]: is BINARY installed, and what does BINARY ARGS say
    key=$1; bin=$2; shift 2
    path=$(command -v "$bin" 2>/dev/null)
    case $path in
        /*) ;;
        *) printf 'tool\t%s\t%s\t\t\t\n' "$key" "$bin"; return ;;
    esac
    if [ $# -eq 0 ]; then report "$key" "$bin" "$path" "" ""; return; fi
    out=$(limit "$path" "$@" </dev/null 2>&1); rc=$?
    report "$key" "$bin" "$path" "$rc" "$out"
}
kmod() {  # NAME: is the kernel side there (loaded, built in, loadable, absent, unknown)
    pattern=$(printf '%s' "$1" | sed 's/[-_]/[-_]/g')
    if [ -d "/sys/module/$1" ]; then state=loaded
    elif [ -r "$moddir/modules.builtin" ] && grep -Eq "/$pattern\.ko\$" "$moddir/modules.builtin"
    then state=builtin
    elif [ -r "$moddir/modules.dep" ]; then
        if grep -Eq "/$pattern\.ko(\.[a-z0-9]+)?:" "$moddir/modules.dep"; then state=module
        else state=absent; fi
    else state=unknown
    fi
    printf 'kmod\t%s\t%s\n' "$1" "$state"
}
tool parted parted --version
tool ceph ceph --version
tool flashcache flashcache_create
tool bcache make-bcache -h
tool lvm lvm segtypes
tool iscsiadm iscsiadm --version
tool multipath multipath -h
tool thin thin_check --version
tool zfs zfs version
tool vxvm vxdctl mode
path=$(command -v targetcli 2>/dev/null)
case $path in
    /*)
        python=$(sed -n '1s/^#![[:space:]]*//p' "$path")
        code='import targetcli; print("targetcli version", targetcli.__version__)'
        # Unquoted: the #! line may be an interpreter with arguments (/usr/bin/env python3).
        # shellcheck disable=SC2086
        out=$(limit ${python:-python3} -B -c "$code" </dev/null 2>&1); rc=$?
        report targetcli targetcli "$path" "$rc" "$out" ;;
    *) printf 'tool\ttargetcli\ttargetcli\t\t\t\n' ;;
esac
# Tools that print no version of their own: ask the package database.
if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\n' lvm2 bcache-tools \
        2>/dev/null | awk -F'\t' '$1 ~ /^ii/ { printf "pkg\t%s\t%s\n", $2, $3 }'
elif command -v rpm >/dev/null 2>&1; then
    rpm -q --qf 'pkg\t%{NAME}\t%{VERSION}-%{RELEASE}\n' lvm2 bcache-tools 2>/dev/null |
        grep '^pkg'
fi
for m in flashcache bcache dm_mod dm_cache dm_thin_pool dm_multipath iscsi_tcp \
         target_core_mod zfs; do
    kmod "$m"
done
tab=$(printf '\t')
printf 'cgroupfs\t%s\n' "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"
awk '{ for (i = 7; i <= NF; i++) if ($i == "-") {
           if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2")
               printf "cgroup\t%s\t%s\t%s\n", $(i + 1), $5, $(i + 3)
           break } }' /proc/self/mountinfo |
while IFS="$tab" read -r kind fstype mountpoint options; do
    printf '%s\t%s\t%s\t%s\n' "$kind" "$fstype" "$mountpoint" "$options"
    if [ "$fstype" = cgroup2 ] && [ -r "$mountpoint/cgroup.controllers" ]; then
        controllers=$(cat "$mountpoint/cgroup.controllers")
        printf 'cgroup2-controllers\t%s\t%s\n' "$mountpoint" "$controllers"
    fi
done
