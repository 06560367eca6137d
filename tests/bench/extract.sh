#!/bin/sh
# Throughput of `magpie extract` against chrono-node on the same bodies.
#
#   sh tests/bench/extract.sh [N]        (default N = 100000 messages)
#
# Generates N messages with ../shared/tools/gen-corpus (mbox), then times
#   magpie extract  the whole command `magpie extract --json corpus.mbox`
#                   (reading, MIME parsing with libetpan, quote/signature
#                   splitting, then extraction);
#   mp_extract      the extraction stage alone (tests/bench/extract_bench.c
#                   against build/libmagpie.a: messages parsed beforehand,
#                   untimed), the same work chrono-node is given;
#   chrono-node     parse() over every text/plain body (decoded by Python
#                   beforehand, untimed) with the message's Date as the
#                   reference: date finding only.
# MB/s counts the decoded text/plain bytes, the same for all three.
# chrono-node is installed on first use into $CHRONO_DIR (default
# ~/.cache/magpie-bench, outside the repository).
set -eu
N=${1:-100000}
MAGPIE=${MAGPIE_BIN:-./magpie}
SHARED=${MAGPIE_SHARED:-../shared}
CHRONO_DIR=${CHRONO_DIR:-$HOME/.cache/magpie-bench}
W=$(mktemp -d /tmp/magpie-xbench-XXXXXX)
trap 'rm -rf "$W"' EXIT

B=${MAGPIE_B:-build}
[ -x "$MAGPIE" ] || { echo "build magpie first (make)"; exit 1; }
[ -f "$B/libmagpie.a" ] || { echo "no $B/libmagpie.a (make)"; exit 1; }
PKGS="libetpan libcurl inih sqlite3 libical gnutls json-c zlib"
# shellcheck disable=SC2046
${CC:-cc} -O2 -std=c11 -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -Iinclude \
    -o "$W/extract_bench" tests/bench/extract_bench.c "$B/libmagpie.a" \
    $(pkg-config --libs $PKGS | tr ' ' '\n' | grep -E '^-(l|L)|^-pthread')
command -v node >/dev/null || { echo "node is required"; exit 1; }
if [ ! -d "$CHRONO_DIR/node_modules/chrono-node" ]; then
	mkdir -p "$CHRONO_DIR"
	npm install --silent --prefix "$CHRONO_DIR" chrono-node >/dev/null
fi

echo "generating $N messages..."
python3 "$SHARED/tools/gen-corpus" -q -n "$N" --seed 3 -f mbox -o "$W/c.mbox"

# The same bodies for chrono-node: one JSON line {date, body} each.
python3 - "$W/c.mbox" "$W/bodies.jsonl" <<'PY'
import email, email.policy, json, mailbox, sys
from email.utils import parsedate_to_datetime
total = 0
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for msg in mailbox.mbox(sys.argv[1], factory=None):
        part = None
        for p in msg.walk():
            if p.get_content_type() == "text/plain":
                part = p
                break
        body = ""
        if part is not None:
            raw = part.get_payload(decode=True) or b""
            body = raw.decode(part.get_content_charset() or "utf-8", "replace")
        try:
            d = parsedate_to_datetime(msg["Date"]).isoformat()
        except Exception:
            d = "2021-06-01T00:00:00+00:00"
        total += len(body.encode("utf-8"))
        out.write(json.dumps({"date": d, "body": body}) + "\n")
print(total, file=open(sys.argv[2] + ".bytes", "w"))
PY
BYTES=$(cat "$W/bodies.jsonl.bytes")
MSGS=$(wc -l <"$W/bodies.jsonl")

cat >"$W/chrono.js" <<'JS'
const chrono = require(process.argv[2] + "/node_modules/chrono-node");
const lines = require("fs").readFileSync(process.argv[3], "utf8").split("\n");
const docs = lines.filter(l => l).map(l => JSON.parse(l));
let found = 0;
const t0 = process.hrtime.bigint();
for (const d of docs)
	found += chrono.parse(d.body, new Date(d.date)).length;
const t1 = process.hrtime.bigint();
console.log(Number(t1 - t0) / 1e9, found);
JS

now() { python3 -c 'import time; print(time.monotonic())'; }
t0=$(now)
MAGPIE_CONFIG=/nonexistent "$MAGPIE" extract --json "$W/c.mbox" >"$W/items.jsonl"
t1=$(now)
MT=$(python3 -c "print($t1 - $t0)")
ITEMS=$(wc -l <"$W/items.jsonl")
set -- $("$W/extract_bench" "$W/c.mbox")
XT=$1
set -- $(node "$W/chrono.js" "$CHRONO_DIR" "$W/bodies.jsonl")
CT=$1
CF=$2

python3 - "$BYTES" "$MSGS" "$MT" "$ITEMS" "$XT" "$CT" "$CF" <<'PY'
import sys
b, n, mt, items, xt, ct, cf = (float(x) for x in sys.argv[1:])
mb = b / 1e6
print("%d messages, %.1f MB of text/plain bodies" % (n, mb))
print("%-16s %9s %10s %12s  %s" % ("", "seconds", "MB/s", "messages/s", "found"))
print("%-16s %9.2f %10.2f %12.0f  %d action items" % ("magpie extract", mt, mb / mt, n / mt, items))
print("%-16s %9.2f %10.2f %12.0f  (same items)" % ("mp_extract", xt, mb / xt, n / xt))
print("%-16s %9.2f %10.2f %12.0f  %d dates" % ("chrono-node", ct, mb / ct, n / ct, cf))
print("speed-up over chrono-node: whole command %.1fx, extraction stage %.1fx" % (ct / mt, ct / xt))
PY
