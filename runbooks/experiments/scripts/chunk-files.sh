#!/bin/sh
# The chunk files a chunkserver holds, one "ID VERSION" line each (hex, from the names
# chunk_ID_VERSION.mfs / .liz under the chunk folder $1).
find "$1" -name 'chunk_*' -type f | sed -n 's/.*chunk_\([0-9A-Fa-f]\{16\}\)_\([0-9A-Fa-f]\{8\}\)\..*/\1 \2/p'
