#!/bin/sh
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
printf 'rear\t%s\n' "$(command -v rear 2>/dev/null)"
layout=/var/lib/rear/layout/disklayout.conf
if [ -s "$layout" ]; then
    printf 'layout\t%s\t%s\n' "$(stat -c %Y "$layout")" "$(head -n 1 "$layout")"
else
    printf 'layout\t\t\n'
fi
