#!/bin/sh
export LC_ALL=C
nl='
'
one_line() {
  rest=$1 out=
  while :; do
    case $rest in
      *"$nl"*) out="$out${rest%%"$nl"*}\\012" rest=${rest#*"$nl"} ;;
      *) printf '%s' "$out$rest"; return ;;
    esac
  done
}
cd /proc || exit 1
set -- [0-9]*
[ -e "$1" ] || set --  # no process directory at all: an unmounted /proc in a chroot
printf 'processes\t%s\n' "$#"
printf 'denied\t%s\n' "$(grep -c -m1 '' [0-9]*/maps 2>&1 >/dev/null | grep -c 'Permission denied')"
names=$(grep -h -o -E '/[^/]*\.so[^/]*$' [0-9]*/maps 2>/dev/null | awk '{
  name = substr($0, 2); sub(/ \(deleted\)$/, "", name)
  if (!(name in seen)) { seen[name] = 1; print "mapped\t" name }
}' | sort)
printf 'libraries\t%s\n' "$(printf '%s' "$names" | grep -c '')"
[ -z "$names" ] || printf '%s\n' "$names"
hits=$(grep -H -E '/[^/]*\.so[^/]* \(deleted\)$' [0-9]*/maps 2>/dev/null | awk '{
  pid = $1; sub(/\/maps:.*/, "", pid)
  path = $0; sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", path)
  line = pid "\tmap\t" $4 " " $5 "\t" path
  if (!(line in seen)) { seen[line] = 1; print line }
}')
[ -n "$hits" ] || exit 0
printf '%s\n' "$hits"
for pid in $(printf '%s\n' "$hits" | cut -f1 | sort -un); do
  (
    while IFS= read -r line; do
      case $line in Name:*) printf '%s\tname\t%s\n' "$pid" "${line#Name:?}"; break ;; esac
    done < "$pid/status" || exit
    printf '%s\texe\t%s\n' "$pid" "$(one_line "$(readlink "$pid/exe")")"
    while IFS= read -r line; do
      case $line in
        0::*|*:name=systemd:*) printf '%s\tcgroup\t%s\n' "$pid" "$(one_line "$line")" ;;
      esac
    done < "$pid/cgroup"
    # -ef is not POSIX, but dash, bash and busybox sh all have it.
    # shellcheck disable=SC3013
    if [ "$pid/root" -ef / ]; then root=same; else root=other; fi
    printf '%s\troot\t%s\n' "$pid" "$root"
  ) 2>/dev/null
done
