#!/bin/sh
# master-restore.sh ACTION ARGS: mfs.master-restore's work on the host that becomes master.
#   inspect DIR PORTS HOST... tools, configuration, live masters, metadata files (key=value);
#                             DIR "" is the master's DATA_PATH, or the version's default
#   backup DIR BACKUP         copy the metadata folder's files to BACKUP (cp -p)
#   restore DIALECT DIR       rebuild the metadata and start mfsmaster
#   wait SECONDS              until a master answers on 127.0.0.1:9421
# (the undo is master-undo.sh: the journal keeps its text)
# Every name comes in as an argument: nothing here is built from them.
set -u
action=${1:?action}
shift
etc=/etc/mfs
[ -d /etc/lizardfs ] && etc=/etc/lizardfs

answers() {  # answers HOST PORT: a TCP connection succeeds within 3 s
    # shellcheck disable=SC2016 # expanded by that bash, from its arguments
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' answers "$1" "$2" 2>/dev/null
}

files() {  # files DIR: the files a master or metalogger keeps there
    for f in "$1"/metadata* "$1"/changelog* "$1"/sessions* "$1"/stats.mfs; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done
}

describe() {  # describe FILE: name, size, time, header, first and last change (tab separated)
    name=${1##*/}
    case $name in *[!A-Za-z0-9._-]*) echo "skipped=1"; return 0 ;; esac
    stamp=$(date -u -r "$1" '+%Y-%m-%d %H:%M:%S')
    head=$(head -c 8 "$1" | tr -c 'A-Za-z0-9 .' '?')
    first='' last=''
    case $name in changelog*)
        first=$(head -n 1 "$1" | cut -d: -f1)
        last=$(tail -n 1 "$1" | cut -d: -f1) ;;
    esac
    printf 'file=%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(stat -c %s "$1")" "$stamp" \
        "$head" "$first" "$last"
}

inspect() {
    dir=$1 port=$2
    shift 2
    echo "etc=$etc"
    if command -v mfsmaster >/dev/null 2>&1; then
        echo "version=$(mfsmaster -v 2>&1 | head -n 1)"
    fi
    command -v mfsmetarestore >/dev/null 2>&1 && echo "mfsmetarestore=yes"
    for cfg in mfsmaster.cfg mfsexports.cfg; do
        [ -f "$etc/$cfg" ] && echo "config=$etc/$cfg"
    done
    data_path=''
    [ -f "$etc/mfsmaster.cfg" ] && data_path=$(sed -n \
        's/^[[:space:]]*DATA_PATH[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p' \
        "$etc/mfsmaster.cfg" | tail -n 1)
    echo "data-path=$data_path"
    if [ -z "$dir" ]; then  # only a chosen folder is echoed: a given one may hold newlines
        dir=${data_path:-/var/lib/mfs}
        [ -z "$data_path" ] && [ "$etc" = /etc/lizardfs ] && dir=/var/lib/lizardfs
        echo "dir=$dir"
    fi
    for pid in $(pgrep -x mfsmaster); do echo "local-master=$pid"; done
    command -v bash >/dev/null 2>&1 || echo "probe=no bash"
    for host in "$@"; do
        if ! getent hosts "$host" >/dev/null; then
            echo "unresolved=$host"
            continue
        fi
        for p in $port; do
            if answers "$host" "$p"; then echo "answers=$host:$p"; else echo "silent=$host:$p"; fi
        done
    done
    [ -d "$dir" ] || { echo "no-dir=1"; return 0; }
    files "$dir" | while IFS= read -r f; do describe "$f"; done
}

case $action in
inspect) inspect "$@" ;;
backup)
    mkdir -p "$2" || exit 1
    files "$1" | while IFS= read -r f; do cp -p "$f" "$2/" || exit 1; done
    ;;
restore)
    if [ "$1" = lizardfs ]; then
        mfsmetarestore -a -d "$2" || exit 1
        # mfsmetarestore writes as root; the master runs as the folder's owner
        chown "$(stat -c %u:%g "$2")" "$2/metadata.mfs" || exit 1
        mfsmaster start
    else
        mfsmaster -a
    fi
    ;;
wait)
    end=$(($(date +%s) + $1))
    until answers 127.0.0.1 9421; do
        [ "$(date +%s)" -lt "$end" ] || exit 1
        sleep 1
    done
    ;;
*) echo "master-restore.sh: unknown action $action" >&2; exit 2 ;;
esac
