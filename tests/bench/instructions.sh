#!/bin/sh
# Instructions an import spends, by stage: a measure that does not drift
# with the machine's load (wall times here vary by 20% within minutes, so
# a change of 5% cannot be seen by timing; it can be counted).
#
#   sh tests/bench/instructions.sh [MBOX]      (from the repository root)
#
# Runs `magpie import MBOX` into a new store under valgrind's callgrind
# (every thread; about 60 times slower than a normal run, so MBOX should
# be small: by default 10,000 messages made by ../shared/tools/gen-corpus
# with seed 3, kept in $BENCH_DIR) and prints the instructions of the
# whole run and of each stage, inclusive: reading the archive, MIME parse,
# action-item extraction, the store thread (threading and SQLite), and
# SQLite's inserts of new messages. Compare two builds by running it with
# MAGPIE_BIN set to each. Needs valgrind (Debian package valgrind).
set -u
SRC=$(pwd)
MAGPIE=${MAGPIE_BIN:-$SRC/magpie}
SHARED=${MAGPIE_SHARED:-$SRC/../shared}
DIR=${BENCH_DIR:-/tmp/magpie-bench}
case $MAGPIE in /*) ;; *) MAGPIE=$SRC/$MAGPIE ;; esac
[ -x "$MAGPIE" ] || { echo "no $MAGPIE: run make first"; exit 1; }
command -v valgrind >/dev/null 2>&1 || { echo "needs valgrind"; exit 1; }
command -v callgrind_annotate >/dev/null 2>&1 ||
    { echo "needs callgrind_annotate (valgrind)"; exit 1; }
MBOX=${1:-}
if [ -z "$MBOX" ]; then
	mkdir -p "$DIR" || exit 1
	MBOX=$DIR/i10000.mbox
	if [ ! -s "$MBOX" ]; then
		[ -x "$SHARED/tools/gen-corpus" ] ||
		    { echo "no $SHARED/tools/gen-corpus; give an MBOX"; exit 1; }
		echo "generating 10000 messages..."
		"$SHARED/tools/gen-corpus" -q -n 10000 --seed 3 --format mbox \
		    -o "$MBOX" || exit 1
	fi
fi
W=$(mktemp -d /tmp/magpie-ibench-XXXXXX) || exit 1
trap 'rm -rf "$W"' EXIT INT TERM
printf '[store]\npath = %s/s.db\n[delivery]\ntransport = maildir:%s/out\nfrom = B <b@example.org>\n' \
    "$W" "$W" > "$W/b.ini"
valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
    "$MAGPIE" -c "$W/b.ini" -q import "$MBOX" >"$W/out.log" 2>&1 ||
    { tail -n 5 "$W/out.log"; exit 1; }
callgrind_annotate --inclusive=yes "$W/cg.out" >"$W/cg.txt" 2>/dev/null
total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$W/cg.txt" | tr -d ,)
# stage NAME FUNCTION: the inclusive count of FUNCTION (first match)
stage() {
	n=$(grep -E "[:]$2 \[" "$W/cg.txt" | head -n 1 |
	    sed 's/^ *\([0-9,]*\) .*/\1/' | tr -d ,)
	awk -v name="$1" -v n="${n:-0}" -v t="$total" 'BEGIN {
	    printf "%-34s %14.0f  %5.1f%%\n", name, n, (t > 0 ? 100 * n / t : 0) }'
}
echo "$MBOX: $(grep -c '^From ' "$MBOX") From_ lines"
printf '%-34s %14s\n' "whole run" "$total"
stage "reading the archive" mp_source_read_mbox
stage "MIME parse (mp_mime_parse)" mp_mime_parse
stage "extraction (mp_extract)" mp_extract
stage "store thread (pipe_storer)" pipe_storer
stage "  storing new messages (add_msg)" add_msg
