#!/bin/sh
# render.sh - render (text + HTML) and compose N personalised digests
# (default 10,000) with magpie, and render the same templates and data
# with mustache.js (node + `npm install mustache`, into
# tests/bench/node_modules). Prints messages/s for each.
#
# usage: sh tests/bench/render.sh [N]      (from anywhere)
set -eu
cd "$(dirname "$0")/../.."
N=${1:-10000}
B=${B:-build}
W=$B/bench
mkdir -p "$W"
make -s "$B/libmagpie.a"
PKGS="libetpan libcurl inih sqlite3 libical gnutls json-c zlib"
${CC:-cc} -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude \
	$(pkg-config --cflags $PKGS) tests/bench/render_bench.c \
	"$B/libmagpie.a" $(pkg-config --libs $PKGS | tr ' ' '\n' | \
	grep -E '^-(l|L|pthread)' | tr '\n' ' ') -o "$W/render_bench"
command -v node >/dev/null || { echo "render.sh: node is needed" >&2; exit 69; }
if [ ! -f tests/bench/node_modules/mustache/package.json ]; then
	(cd tests/bench && npm install --no-save --no-package-lock \
		--silent mustache@4 >/dev/null)
fi
node tests/bench/gen-data.js > "$W/digest.json"

"$W/render_bench" etc/templates "$W/digest.json" "$N" > "$W/c.out"
node tests/bench/render.js etc/templates "$W/digest.json" "$N" > "$W/js.out"

printf 'digests: %s (text + HTML each), template etc/templates/digest\n' "$N"
awk -v v="$(node -p "require('./tests/bench/node_modules/mustache/package.json').version")" '
	FILENAME ~ /c.out$/ { c[$1] = $3; cb[$1] = $4 }
	FILENAME ~ /js.out$/ { j = $3; jb = $4 }
	END {
		printf "%-34s %10.0f msg/s  (%.3f s, %.1f MB)\n",
		    "magpie render (parse every time)",
		    '"$N"' / c["render-parse"], c["render-parse"],
		    cb["render-parse"] / 1e6
		printf "%-34s %10.0f msg/s  (%.3f s, %.1f MB)\n",
		    "magpie render (compiled once)", '"$N"' / c["render"],
		    c["render"], cb["render"] / 1e6
		printf "%-34s %10.0f msg/s  (%.3f s, %.1f MB)\n",
		    "mustache.js " v " render (node)", '"$N"' / j, j, jb / 1e6
		printf "%-34s %10.0f msg/s  (%.3f s, %.1f MB of mail)\n",
		    "magpie render + compose", '"$N"' / c["render+compose"],
		    c["render+compose"], cb["render+compose"] / 1e6
		printf "render speed-up over mustache.js: %.1fx compiled, " \
		    "%.1fx parsing every time\n", j / c["render"],
		    j / c["render-parse"]
	}' "$W/c.out" "$W/js.out"
