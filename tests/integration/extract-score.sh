#!/bin/sh
# Action-item quality: `magpie extract --json` on the labelled dev set
# (../shared/testdata/extract-dev) and on our own cases (tests/data/extract),
# scored by ../shared/tools/score-extract. Prints precision, recall and F1;
# fails when either F1 is below 0.85. Skips without ../shared or python3.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
SHARED=${MAGPIE_SHARED:-../shared}
SCORE="$SHARED/tools/score-extract"
DEV="$SHARED/testdata/extract-dev"
MIN=0.85

command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
[ -x "$SCORE" ] || [ -f "$SCORE" ] || { echo "no $SCORE"; exit 77; }
[ -d "$DEV" ] || { echo "no $DEV"; exit 77; }

T=$(mktemp -d /tmp/magpie-xs-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

score() { # name dir
	# No config: extraction must not depend on members being known.
	MAGPIE_CONFIG=/nonexistent "$MAGPIE" extract --json "$2"/*.eml \
	    >"$T/$1.jsonl" 2>"$T/$1.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: extract on $2 exited $rc"; cat "$T/$1.err"
		fails=$((fails + 1)); return
	fi
	python3 "$SCORE" "$2" "$T/$1.jsonl" >"$T/$1.out" 2>&1 || {
		echo "FAIL: score-extract on $2"; cat "$T/$1.out"
		fails=$((fails + 1)); return; }
	sed -n 's/^items: .*precision \([0-9.]*\)  recall \([0-9.]*\)  F1 \([0-9.]*\)$/\1 \2 \3/p' \
	    "$T/$1.out" >"$T/$1.prf"
	read -r p r f <"$T/$1.prf" || { echo "FAIL: no score line"; \
	    fails=$((fails + 1)); return; }
	echo "$1: precision $p recall $r F1 $f"
	if ! python3 -c "import sys; sys.exit(0 if float('$f') >= $MIN else 1)"; then
		echo "FAIL: $1 F1 $f < $MIN"
		python3 "$SCORE" -v "$2" "$T/$1.jsonl" | head -60
		fails=$((fails + 1))
	fi
}

score extract-dev "$DEV"
score own tests/data/extract
[ $fails -eq 0 ]
