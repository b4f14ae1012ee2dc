#!/bin/sh
# Create directory $2 and give it (recursively) goal $3, the way lab $1's tools do it:
# moosefs: mfssetgoal; moosefs4: the storage class NCP (N copies on any servers; made
# here when the master does not have it: 4.59 predefines 2CP, 3CP, EC4+1 and EC8+1,
# and mfssetgoal 1 left a file at 2CP); lizardfs: lizardfs setgoal (goals 1-5 are N copies).
lab=$1; dir=$2; goal=$3
mkdir -p "$dir" || exit 1
case $lab in
moosefs) mfssetgoal -r "$goal" "$dir" >/dev/null ;;
moosefs4)
    class="${goal}CP"
    if ! (cd /mnt/mfs && mfsscadmin list) 2>/dev/null | grep -qx "$class"; then
        mfsscadmin create -M /mnt/mfs -c "$goal copies" -K "$goal*" "$class" >/dev/null || exit 1
    fi
    mfssetsclass -r "$class" "$dir" >/dev/null ;;
lizardfs) lizardfs setgoal -r "$goal" "$dir" >/dev/null ;;
*) echo "set-goal: unknown lab $lab" >&2; exit 2 ;;
esac
