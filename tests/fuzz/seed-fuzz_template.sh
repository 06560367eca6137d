#!/bin/sh
# seed-fuzz_template.sh DIR - seeds for fuzz_template: every shipped
# template (flag byte, template, NUL, a partial), and the spec's cases
# when ../shared/testdata/mustache-spec and python3 are there.
set -eu
out=$1
i=0
for f in etc/templates/*.txt etc/templates/*.html; do
	case $f in *.html) flag='\001' ;; *) flag='\000' ;; esac
	{ printf "$flag"; cat "$f"; printf '\000{{> header}}Hi {{s}}\n'; } \
		> "$out/t$i"
	i=$((i + 1))
done
spec=../shared/testdata/mustache-spec
if [ -d "$spec" ] && command -v python3 >/dev/null 2>&1; then
	python3 - "$spec" "$out" <<'PY'
import glob, json, sys
spec, out = sys.argv[1], sys.argv[2]
i = 0
for f in sorted(glob.glob(spec + '/*.json')):
    if '~' in f:
        continue
    for t in json.load(open(f, encoding='utf-8'))['tests']:
        p = next(iter(t.get('partials', {}).values()), '')
        b = (b'\x01' + t['template'].encode() + b'\0' + p.encode() +
             b'\0' + json.dumps(t['data']).encode())
        open('%s/s%d' % (out, i), 'wb').write(b)
        i += 1
PY
fi
