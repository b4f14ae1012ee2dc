#!/bin/sh
# The number of the last change in the changelogs of folder $1 (master or
# metalogger: changelog*.mfs, changelog_ml*.mfs); 0 when there is none.
last=0
for f in "$1"/changelog*; do
    [ -s "$f" ] || continue
    n=$(tail -n 1 "$f" | sed -n 's/^\([0-9][0-9]*\):.*/\1/p')
    [ -n "$n" ] && [ "$n" -gt "$last" ] && last=$n
done
echo "$last"
