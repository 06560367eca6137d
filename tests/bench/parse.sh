#!/bin/sh
# Throughput of mp_mime_parse(): the fast path (the default) against
# libetpan alone (MP_MIME_SLOW), over the same messages.
#
#   sh tests/bench/parse.sh [MBOX]
#
# MBOX defaults to /tmp/magpie-bench/c100000.mbox when it exists, else
# 10,000 messages are generated with ../shared/tools/gen-corpus. The
# messages are read into memory first (untimed); each way then parses
# all of them, three times interleaved, and the best run counts. Times
# are CPU time of the process, less disturbed by other load than wall
# time. MB/s counts the raw message bytes.
set -eu
B=${MAGPIE_B:-build}
SHARED=${MAGPIE_SHARED:-../shared}
W=$(mktemp -d /tmp/magpie-pbench-XXXXXX)
trap 'rm -rf "$W"' EXIT

[ -f "$B/libmagpie.a" ] || { echo "no $B/libmagpie.a (make)"; exit 1; }
PKGS="libetpan libcurl inih sqlite3 libical gnutls json-c zlib"
# shellcheck disable=SC2046
${CC:-cc} -O2 -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -Iinclude \
    -o "$W/parse_bench" tests/bench/parse_bench.c "$B/libmagpie.a" \
    $(pkg-config --libs $PKGS | tr ' ' '\n' | grep -E '^-(l|L)|^-pthread')

MBOX=${1:-/tmp/magpie-bench/c100000.mbox}
if [ ! -f "$MBOX" ]; then
	echo "generating 10000 messages..."
	python3 "$SHARED/tools/gen-corpus" -q -n 10000 --seed 3 -f mbox \
	    -o "$W/c.mbox"
	MBOX=$W/c.mbox
fi
"$W/parse_bench" "$MBOX"
