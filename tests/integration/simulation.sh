#!/bin/sh
# The June 2021 simulation: the example configuration and the sample
# archive against a real Dovecot (IMAPS, test CA) and a real SMTP server
# (lib/smtpd.py: STARTTLS, AUTH), `magpie -q run --now T` every 15
# minutes from 2021-06-08 to 2021-07-01 with the list's messages appended
# to the IMAP folder as the clock passes their Date, the
# workshop-evaluations deadline moved by a day at 2021-06-14 12:00 UTC;
# every email received is checked against an oracle computed from the INI
# files (lib/simdriver.py), then the same runs again send nothing.
# It takes about 5 minutes (2 x 2209 runs); `make asan` sets
# MAGPIE_SIM_END=2021-06-18T00:00:00Z (2 x 961 runs, about 3 minutes).
# Arguments (for a shorter look): --start T --end T --change-at T.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
case $MAGPIE in /*) ;; *) MAGPIE=$(pwd)/$MAGPIE ;; esac
SRC=$(pwd)
LIBDIR=$SRC/tests/integration/lib
. "$LIBDIR/dovecot.sh"
/usr/bin/python3 -c 'import aiosmtpd, zoneinfo' 2>/dev/null ||
	dv_skip "python3-aiosmtpd is not installed"
T=$(mktemp -d /tmp/magpie-sim-XXXXXX)
chmod 755 "$T"     # Dovecot's users reach the passwd file and Maildir
trap '[ -f "$T/pids" ] && kill $(cat "$T/pids") 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
dv_init "$T/dv"
dv_conf good
/usr/bin/python3 "$LIBDIR/simdriver.py" sim --magpie "$MAGPIE" --src "$SRC" \
    --work "$T" --dv "$T/dv" --dv-conf "$T/dv/dovecot.conf" \
    --dv-imaps "$DV_IMAPS" --dv-user "$DV_USER" --dv-group "$DV_GROUP" \
    --dv-pass "$DV_PASS" ${MAGPIE_SIM_END:+--end "$MAGPIE_SIM_END"} "$@"
