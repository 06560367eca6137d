#!/bin/sh
# Threading quality, scored from outside: `magpie import` then
# `magpie threads --json` turned into "message-id<TAB>thread" lines, scored
# with ../shared/tools/score-threads against
#  - the ground truth of a generated 10,000-message archive (>= 99.5%),
#  - Dovecot's THREAD REFERENCES on the real fedora-devel archive (>= 99%),
# and the thread ids must not change when the same archive is imported
# again into the store.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
SRC=$(pwd)
SHARED=${MAGPIE_SHARED:-$SRC/../shared}
GEN=$SHARED/tools/gen-corpus
SCORE=$SHARED/tools/score-threads
[ -x "$GEN" ] && [ -x "$SCORE" ] || { echo "no $SHARED/tools"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
case $MAGPIE in /*) ;; *) MAGPIE=$SRC/$MAGPIE ;; esac
T=$(mktemp -d /tmp/magpie-score-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tsv() { # store -> message-id<TAB>thread
	"$MAGPIE" -q -c "$1" threads --json | python3 -c '
import json, sys
for line in sys.stdin:
    t = json.loads(line)
    for m in t["messages"]:
        print(m + "\t" + t["thread"])
'
}

# score TRUTH TSV MIN: prints the figures, fails below MIN (percent)
score() {
	out=$("$SCORE" "$1" --tsv "$2" --json) || { fail "score-threads $1"; return; }
	echo "$1: $out"
	printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
ok = s["messages_missing"] == 0 and s["correct"] * 100.0 >= float(sys.argv[1]) * s["messages_placed"]
sys.exit(0 if ok else 1)' "$3" || fail "$1: below $3%: $out"
}

cfg() {
	mkdir -p "$1"
	printf '[store]\npath = s.db\n[delivery]\ntransport = maildir:out\nfrom = S <s@example.org>\n' >"$1/m.ini"
}

# --- a generated archive with ground truth
"$GEN" -q -n 10000 --seed 3 --format mbox -o gen.mbox --truth gen.json ||
	{ echo "gen-corpus failed"; exit 1; }
cfg gen
"$MAGPIE" -q -c gen/m.ini import gen.mbox || fail "import gen.mbox"
tsv gen/m.ini >gen.tsv
score gen.json gen.tsv 99.5
# the same archive again: nothing new, every thread id unchanged
"$MAGPIE" -q -c gen/m.ini import gen.mbox || fail "re-import gen.mbox"
tsv gen/m.ini >gen2.tsv
cmp -s gen.tsv gen2.tsv || fail "thread ids changed on re-import"

# --- fedora-devel, January 2010, against Dovecot
FED=$SHARED/testdata/threads/fedora-devel-2010-01/2010-January.txt
DOVE=$SHARED/testdata/threading/fedora-dovecot/thread-references.json
if [ -r "$FED" ] && [ -r "$DOVE" ]; then
	cfg fed
	"$MAGPIE" -q -c fed/m.ini import "$FED" || fail "import fedora"
	tsv fed/m.ini >fed.tsv
	score "$DOVE" fed.tsv 99
else
	echo "no fedora-devel data: that part skipped"
fi

# --- a late message merges two threads: the older thread's id stays
cfg late
cat >late/1.mbox <<'EOF'
From a@example.org Fri Jan  1 10:00:00 2021
From: a@example.org
Subject: older
Date: Fri, 1 Jan 2021 10:00:00 +0000
Message-ID: <x1@example.org>

x

From b@example.org Sat Jan  2 10:00:00 2021
From: b@example.org
Subject: newer
Date: Sat, 2 Jan 2021 10:00:00 +0000
Message-ID: <y1@example.org>

y
EOF
cat >late/2.mbox <<'EOF'
From c@example.org Sun Jan  3 10:00:00 2021
From: c@example.org
Subject: Re: newer
Date: Sun, 3 Jan 2021 10:00:00 +0000
Message-ID: <z@example.org>
References: <y1@example.org> <x1@example.org>
In-Reply-To: <x1@example.org>

z
EOF
"$MAGPIE" -q -c late/m.ini import late/1.mbox || fail "import late/1"
tsv late/m.ini | sort >late1.tsv
printf 'x1@example.org\tx1@example.org\ny1@example.org\ty1@example.org\n' >want1
cmp -s late1.tsv want1 || fail "two threads before: $(cat late1.tsv)"
"$MAGPIE" -q -c late/m.ini import late/2.mbox || fail "import late/2"
tsv late/m.ini | sort >late2.tsv
printf 'x1@example.org\tx1@example.org\ny1@example.org\tx1@example.org\nz@example.org\tx1@example.org\n' >want2
cmp -s late2.tsv want2 || fail "merged thread: $(cat late2.tsv)"

[ "$fails" -eq 0 ] || exit 1
echo "threads-score: ok"
