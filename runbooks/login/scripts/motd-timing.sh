#!/bin/bash
cd /etc/update-motd.d 2>/dev/null || exit 0
TIMEFORMAT='%R %U %S'
for f in *; do
  [ -f "$f" ] || continue
  mode=$(stat -c %a -- "$f")
  if [ -x "$f" ]; then
    t=$( { time "./$f" >/dev/null 2>&1 ; } 2>&1 )
    printf '%s\t1\t%s\t%s\n' "$mode" "$t" "$f"
  else
    printf '%s\t0\t- - -\t%s\n' "$mode" "$f"
  fi
done
