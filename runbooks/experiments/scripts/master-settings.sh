#!/bin/sh
# The master's settings $3...: "KEY VALUE (lab)" when the config file $1 sets it, else
# "KEY VALUE (default)" from the commented line "# KEY = VALUE" of the sample file $2.
cfg=$1; sample=$2; shift 2
for key in "$@"; do
    set_here=$(sed -n "s/^$key *= *//p" "$cfg" 2>/dev/null | tail -n 1)
    default=$(sed -n "s/^# *$key *= *//p" "$sample" 2>/dev/null | head -n 1)
    if [ -n "$set_here" ]; then
        echo "$key $set_here (lab)"
    elif [ -n "$default" ]; then
        echo "$key $default (default)"
    else
        echo "$key ? (not in the sample config)"
    fi
done
