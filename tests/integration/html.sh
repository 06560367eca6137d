#!/bin/sh
# The HTML digest and reminder in a real browser: headless Chromium at
# phone (390 px) and desktop (1100 px) widths; nothing may overflow
# horizontally. Screenshots go to var/ for a person to look at.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
case $MAGPIE in /*) ;; *) MAGPIE=$(pwd)/$MAGPIE ;; esac
SRC=$(pwd)
command -v chromium >/dev/null 2>&1 || { echo "chromium not installed"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 not installed"; exit 77; }
T=$(mktemp -d /tmp/magpie-html-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cp -R "$SRC/etc" "$T/etc"
NOW=2021-06-14T12:00:00Z
"$MAGPIE" -q -c "$T/etc/example.ini" --now $NOW import "$T/etc/sample/mag-2021-06.mbox" ||
    { echo "import failed"; exit 1; }
"$MAGPIE" -c "$T/etc/example.ini" --now $NOW digest --print \
    --to mag-secretariat@example.org >"$T/digest.eml" || fail "digest --print"
"$MAGPIE" -c "$T/etc/example.ini" --now $NOW preview reminder \
    workshop-evaluations --to kenji@example.org >"$T/reminder.eml" || fail "preview"

# The text/html part, laid out at a given width (headless Chromium will
# not make a window narrower than 500 px, so the page itself is held to
# the width), with a probe that puts the rightmost edge of any element in
# the title.
for n in digest reminder; do
	for w in 390 1100; do
		/usr/bin/python3 - "$T/$n.eml" "$T/$n-$w.html" $w <<'PY' || fail "$n: no HTML part"
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
html = [p for p in m.walk() if p.get_content_type() == "text/html"]
if not html:
    sys.exit(1)
w = sys.argv[3]
text = html[0].get_payload(decode=True).decode("utf-8")
probe = ("<style>html{width:%spx;max-width:%spx}</style>"
         "<script>var r = 0; document.querySelectorAll('body *').forEach("
         "function (e) { r = Math.max(r, e.getBoundingClientRect().right); });"
         "document.title = (r > %s + 0.5 ? 'OVERFLOW ' : 'FITS ') + r;"
         "</script>" % (w, w, w))
text = text.replace("</body>", probe + "</body>")
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
	done
done

chrome() {
	chromium --headless --no-sandbox --disable-gpu --disable-quic \
	    --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync --hide-scrollbars \
	    --user-data-dir="$T/profile" "$@" 2>/dev/null
}

mkdir -p "$SRC/var"
for n in digest reminder; do
	for w in 390 1100; do
		[ -f "$T/$n-$w.html" ] || continue
		title=$(chrome --window-size=$w,900 --dump-dom "file://$T/$n-$w.html" |
		    sed -n 's:.*<title>\([^<]*\)</title>.*:\1:p')
		case $title in
		FITS*) echo "$n at $w px: $title" ;;
		*) fail "$n at $w px: '$title'" ;;
		esac
		chrome --window-size=$w,2400 --screenshot="$SRC/var/$n-$w.png" \
		    "file://$T/$n-$w.html" >/dev/null
		[ -s "$SRC/var/$n-$w.png" ] || fail "$n at $w px: no screenshot"
	done
done
[ $fails -eq 0 ] || exit 1
