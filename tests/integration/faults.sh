#!/bin/sh
# Faults injected into the simulation (lib/simdriver.py faults), from
# 2021-06-14 to 2021-06-19 with the example configuration and the sample
# archive, against a real Dovecot and a real SMTP server: 451 for three
# emails, the connection dropped after DATA twice, the SMTP server down
# for six hours, the IMAP server down for a day, kill -9 of `run` at
# seeded random moments (MAGPIE_FAULT_SEED), a second run while one is
# sending (it exits 0 at once), the clock going back an hour. Nothing
# planned is lost, nothing stale is sent, and the only duplicates are
# the emails a kill caught between the server's 250 and the ledger
# write (counted and printed).
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
case $MAGPIE in /*) ;; *) MAGPIE=$(pwd)/$MAGPIE ;; esac
SRC=$(pwd)
LIBDIR=$SRC/tests/integration/lib
. "$LIBDIR/dovecot.sh"
/usr/bin/python3 -c 'import aiosmtpd, zoneinfo' 2>/dev/null ||
	dv_skip "python3-aiosmtpd is not installed"
T=$(mktemp -d /tmp/magpie-faults-XXXXXX)
chmod 755 "$T"     # Dovecot's users reach the passwd file and Maildir
trap '[ -f "$T/pids" ] && kill $(cat "$T/pids") 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
dv_init "$T/dv"
dv_conf good
/usr/bin/python3 "$LIBDIR/simdriver.py" faults --magpie "$MAGPIE" \
    --src "$SRC" --work "$T" --dv "$T/dv" --dv-conf "$T/dv/dovecot.conf" \
    --dv-imaps "$DV_IMAPS" --dv-user "$DV_USER" --dv-group "$DV_GROUP" \
    --dv-pass "$DV_PASS" --seed "${MAGPIE_FAULT_SEED:-20210614}" "$@"
