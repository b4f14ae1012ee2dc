#!/bin/bash
# net.first-packet on a target: time fresh TCP connects (see runbooks/net/collect.py).
# Arguments: PAUSE LIMIT, then SLOT HOST PORT triples sorted by SLOT. The connects of
# one slot run at once; PAUSE seconds separate the slots; LIMIT bounds each connect
# and each name lookup. Output: one tab-separated line per fact:
#   synretrans  before|after  COUNT|-
#   addr        HOST  ADDRESS          (or: noaddr  HOST  REASON)
#   connect     SLOT  HOST  PORT  ADDRESS  MICROSECONDS  EXIT-STATUS  FIRST-ERROR-LINE
#   end
export LC_ALL=C
pause=$1 limit=$2
shift 2
syn_retrans() {  # the kernel's TcpExt TCPSynRetrans counter (what nstat reads), or -
    awk '$1 == "TcpExt:" { if (!seen) { for (i = 2; i <= NF; i++) if ($i == "TCPSynRetrans") col = i
                                          seen = 1 }
                           else { print (col ? $col : "-"); found = 1; exit } }
         END { if (!found) print "-" }' /proc/net/netstat 2>/dev/null || echo -
}
now() { date +%s%N; }
connect() {  # SLOT HOST PORT ADDRESS: one fresh connect, timed; bash opens /dev/tcp itself
    local start end err rc
    start=$(now)
    # shellcheck disable=SC2016  # $1 and $2 belong to the inner bash: argv, not text
    err=$(timeout "$limit" bash -c 'exec 3<>"/dev/tcp/$1/$2"' connect "$4" "$3" 2>&1)
    rc=$?
    end=$(now)
    err=$(printf '%s' "$err" | sed -n '1{s/\t/ /g;p}')
    printf 'connect\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
        "$(( (end - start) / 1000 ))" "$rc" "$err"
}
printf 'synretrans\tbefore\t%s\n' "$(syn_retrans)"
declare -A address=()
args=("$@")
for (( i = 1; i < ${#args[@]}; i += 3 )); do  # each host once: no name lookup is timed
    host=${args[i]}
    [ -n "${address[$host]+set}" ] && continue
    found=$(timeout "$limit" getent ahosts "$host" 2>/dev/null | awk '$2 == "STREAM" { print $1; exit }')
    address[$host]=$found
    if [ -n "$found" ]; then printf 'addr\t%s\t%s\n' "$host" "$found"
    else printf 'noaddr\t%s\t%s\n' "$host" "no address found"; fi
done
slot=
while [ $# -ge 3 ]; do
    if [ -n "$slot" ] && [ "$1" != "$slot" ]; then
        wait
        sleep "$pause"
    fi
    slot=$1
    if [ -n "${address[$2]}" ]; then connect "$1" "$2" "$3" "${address[$2]}" & fi
    shift 3
done
wait
printf 'synretrans\tafter\t%s\n' "$(syn_retrans)"
printf 'end\n'
