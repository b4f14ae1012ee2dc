#!/bin/sh
export LC_ALL=C
date='[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4}'
openssl_text="OpenSSL [0-9]+\.[0-9]+\.[0-9]+[a-z]*(-[A-Za-z0-9]+)? +$date"
libressl_text='LibreSSL [0-9]+\.[0-9]+\.[0-9]+'
if command -v openssl >/dev/null 2>&1; then
  printf 'command\t%s\n' "$(openssl version 2>&1 | head -n 1)"
else
  printf 'command\t-\n'
fi
if command -v dpkg-query >/dev/null 2>&1; then
  dpkg-query -W -f='package\t${db:Status-Abbrev}\t${Package}\t${Version}\n' \
      'libssl*' openssl 2>/dev/null
fi
cd /proc 2>/dev/null || { printf 'maps\t0\t0\n'; exit 0; }
set -- [0-9]*
[ -e "$1" ] || set --
printf 'maps\t%s\t%s\n' "$#" \
  "$(grep -c -m1 '' [0-9]*/maps 2>&1 >/dev/null | grep -c 'Permission denied')"
grep -H -E '/lib(ssl|crypto)[^/]*\.so[^/]*$' [0-9]*/maps 2>/dev/null \
  | sed -n 's|^\([0-9][0-9]*\)/maps:[^/]*\(/.*\)$|\1 \2|p' | sort -u \
  | awk '{ pid = $1; sub(/^[0-9]+ /, ""); n[$0]++; p[$0] = pid }
         END { for (k in n) print n[k], p[k], k }' \
  | sort -k3 | while read -r count pid path; do
      case $path in
        *" (deleted)") version= ;;
        *) version=$(grep -a -o -m1 -E "$openssl_text|$libressl_text" "$pid/root$path" \
                         2>/dev/null | head -n 1) ;;
      esac
      printf 'library\t%s\t%s\t%s\n' "$count" "${version:--}" "$path"
    done
