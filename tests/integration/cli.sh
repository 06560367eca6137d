#!/bin/sh
# The command line from outside: check with several mistakes, import,
# threads --json, digest --print, the lock, dry runs, exit codes.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
SRC=$(pwd)
T=$(mktemp -d /tmp/magpie-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { # want got what
	[ "$1" = "$2" ] || fail "$3: exit $2, wanted $1"
}

cp -R "$SRC/etc" "$T/etc"
cd "$T" || exit 1

# --- check: silent when all is well; every mistake as FILE:LINE, exit 78
out=$("$MAGPIE" -c etc/example.ini check 2>&1); rc=$?
expect_rc 0 $rc "check example"
[ -z "$out" ] || fail "check example printed: $out"

cat > bad.ini <<'INI'
include = bad-members.ini
[store]
path = s.db
colour = blue
[delivery]
transport = maildir:out
from = Sec <sec@example.org>
[deadline d]
due = 2021-06-31 23:59 UTC
to = group:nobody
remind = 7d, soon
[event e]
starts = 2021-06-22 13:00 Mars/Olympus
to = m1
[gadget g]
INI
cat > bad-members.ini <<'INI'
[member m1]
email = m1@example.org
tz = Europe/Atlantis
INI
out=$("$MAGPIE" -c bad.ini check 2>&1); rc=$?
expect_rc 78 $rc "check bad"
for want in "bad-members.ini:3: unknown time zone 'Europe/Atlantis'" \
    "bad.ini:4: unknown key 'colour'" \
    "bad.ini:9: bad time '2021-06-31 23:59 UTC'" \
    "bad.ini:10: unknown group 'nobody'" \
    "bad.ini:11: bad duration 'soon'" \
    "bad.ini:13: bad time '2021-06-22 13:00 Mars/Olympus'" \
    "bad.ini:15: unknown section [gadget g]"; do
	printf '%s\n' "$out" | grep -qF "$want" || fail "check bad: no '$want' in: $out"
done
[ "$(printf '%s\n' "$out" | wc -l)" -ge 7 ] || fail "check bad: too few lines: $out"
# every other command refuses the bad config too
"$MAGPIE" -c bad.ini run >/dev/null 2>&1; expect_rc 78 $? "run with bad config"

# --- usage errors
"$MAGPIE" >/dev/null 2>&1; expect_rc 64 $? "no command"
"$MAGPIE" --bogus run >/dev/null 2>&1; expect_rc 64 $? "bad option"
"$MAGPIE" -c etc/example.ini import >/dev/null 2>&1; expect_rc 64 $? "import without path"
"$MAGPIE" --version | grep -q '^magpie [0-9]' || fail "--version"
"$MAGPIE" --help | grep -q '^usage: magpie' || fail "--help"
for c in run fetch import threads actions extract digest remind agenda check render preview init; do
	"$MAGPIE" $c --help | grep -q "^usage: magpie .*$c" || fail "$c --help"
done
"$MAGPIE" frob --help >/dev/null 2>&1; expect_rc 64 $? "unknown command --help"

# --- dry run sends and records nothing
out=$("$MAGPIE" -c etc/example.ini --now 2021-06-14T12:00:00Z -n run 2>/dev/null); rc=$?
expect_rc 0 $rc "dry run"
printf '%s\n' "$out" | grep -q '^would send reminder to ' || fail "dry run: no reminder listed: $out"
printf '%s\n' "$out" | grep -q '^would send digest to ' || fail "dry run: no digest listed"
[ ! -d var/outbox/new ] || [ -z "$(ls var/outbox/new)" ] || fail "dry run delivered mail"

# --- import is idempotent; threads --json
"$MAGPIE" -q -c etc/example.ini import etc/sample/mag-2021-06.mbox; expect_rc 0 $? "import"
out=$("$MAGPIE" -c etc/example.ini import etc/sample/mag-2021-06.mbox 2>&1)
printf '%s\n' "$out" | grep -q '0 stored' || fail "re-import stored something: $out"
n=$("$MAGPIE" -c etc/example.ini threads --json | wc -l)
[ "$n" -ge 10 ] || fail "threads --json: $n threads"
"$MAGPIE" -c etc/example.ini threads --json | /usr/bin/python3 -c '
import json, sys
ids = set()
for line in sys.stdin:
    t = json.loads(line)
    assert set(t) == {"thread", "subject", "messages", "participants", "last"}, t
    assert t["messages"] and t["thread"] == t["messages"][0], t
    ids.update(t["messages"])
assert len(ids) == 50, len(ids)
' || fail "threads --json is not as DESIGN.md says"

# --- digest --print: one email on stdout, nothing recorded
out=$("$MAGPIE" -c etc/example.ini --now 2021-06-14T12:00:00Z digest --print --to kenji@example.org); rc=$?
expect_rc 0 $rc "digest --print"
printf '%s\n' "$out" | grep -q '^X-Magpie-Kind: digest' || fail "digest --print: no kind header"
printf '%s\n' "$out" | grep -q '^To: Kenji Watanabe <kenji@example.org>' || fail "digest --print: To"
"$MAGPIE" -c etc/example.ini digest --print --to nobody@example.org >/dev/null 2>&1
expect_rc 64 $? "digest for a non-member"

# --- the lock: a second run while one holds it exits 0 at once
if command -v flock >/dev/null 2>&1; then
	mkdir -p var
	out=$(flock var/magpie.db.lock "$MAGPIE" -v -c etc/example.ini run 2>&1); rc=$?
	expect_rc 0 $rc "locked run"
	printf '%s\n' "$out" | grep -q 'holds' || fail "locked run: no note under -v: $out"
	out=$(flock var/magpie.db.lock "$MAGPIE" -c etc/example.ini run 2>&1)
	[ -z "$out" ] || fail "locked run without -v printed: $out"
fi

# --- agenda of one member: only their items, their zone, pending only
out=$("$MAGPIE" -c etc/example.ini --now 2021-06-10T00:00:00Z agenda --to jose@example.org --days 10); rc=$?
expect_rc 0 $rc "agenda --to"
printf '%s\n' "$out" | grep -q 'Thu 17 Jun 2021 18:59 CDT  deadline' || fail "agenda --to: deadline in Mexico City time: $out"
printf '%s\n' "$out" | grep -q 'wg-hybrid-call' || fail "agenda --to: jose's working group call"
printf '%s\n' "$out" | grep -q 'reminder 3 days before' && fail "agenda --to: a reminder for a member not pending"
n=$("$MAGPIE" -c etc/example.ini --now 2021-06-10T00:00:00Z agenda --to kenji@example.org --days 10 | grep -c wg-hybrid-call)
[ "$n" = 0 ] || fail "agenda --to: kenji is not in the working group"

# --- preview and render
out=$("$MAGPIE" -c etc/example.ini --now 2021-06-14T12:00:00Z preview reminder workshop-evaluations --to kenji@example.org); rc=$?
expect_rc 0 $rc "preview"
printf '%s\n' "$out" | grep -q '^X-Magpie-Item: workshop-evaluations' || fail "preview: item header"
echo '{"name": "<Zoë>"}' > d.json
echo 'Hi {{name}}' > t.txt
echo 'Hi {{name}}' > t.html
[ "$("$MAGPIE" render t.txt --data d.json)" = "Hi <Zoë>" ] || fail "render text"
[ "$("$MAGPIE" render t.html --data d.json)" = "Hi &lt;Zoë&gt;" ] || fail "render html"

# --- init: a starter configuration that passes check, never overwritten
out=$("$MAGPIE" init starter); rc=$?
expect_rc 0 $rc "init"
printf '%s\n' "$out" | grep -q 'magpie.ini' || fail "init: no next steps: $out"
for f in magpie.ini members.ini deadlines.d/deadlines.ini templates/digest.txt \
    templates/digest.html templates/reminder.txt templates/footer.txt; do
	[ -s "starter/$f" ] || fail "init: no $f"
done
cmp -s starter/templates/digest.txt "$SRC/etc/templates/digest.txt" || fail "init: digest.txt differs"
out=$("$MAGPIE" -c starter/magpie.ini check 2>&1); rc=$?
expect_rc 0 $rc "check of the starter config: $out"
echo "; mine" >> starter/members.ini
"$MAGPIE" init starter >/dev/null 2>&1; expect_rc 73 $? "second init"
tail -n 1 starter/members.ini | grep -q '; mine' || fail "init overwrote members.ini"

[ $fails -eq 0 ] || exit 1
