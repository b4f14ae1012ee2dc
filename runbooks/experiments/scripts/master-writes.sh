#!/bin/sh
# Changes to the filesystem, one after another, until this script is killed: for
# i = 1, 2, ...: create n$i (content "c$i"), rename it to f$i, append "a$i" to it,
# append "j$i" to the one file j (an old file changed again and again).
# Every operation that returned success is logged to $2 (a file outside the
# filesystem) as "SECONDS.NANOS OP i", the time taken right after it returned; a
# failed one as "SECONDS.NANOS fail-OP i", and the next i begins.
# $1: directory (on the filesystem), $2: the log, $3: pause between files (s).
dir=$1; log=$2; pause=${3:-0}
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
echo $$ > "$log.pid"
: > "$log"
ack() {  # ack OP I STATUS
    if [ "$3" = 0 ]; then
        echo "$(date +%s.%N) $1 $2" >> "$log"
    else
        echo "$(date +%s.%N) fail-$1 $2" >> "$log"
    fi
    return "$3"
}
i=0
while :; do
    i=$((i + 1))
    printf 'c%s\n' "$i" > "n$i"; ack create "$i" $? || continue
    mv "n$i" "f$i"; ack rename "$i" $? || continue
    printf 'a%s\n' "$i" >> "f$i"; ack append "$i" $? || continue
    printf 'j%s\n' "$i" >> j; ack journal "$i" $?
    [ "$pause" = 0 ] || sleep "$pause"
done
