#!/bin/sh
# Fill DIR with the seed corpus of fuzz_mime: every message file of
# ../shared/testdata/mail and threading (single files, under 1 MB) plus the
# first messages of the fedora-devel mbox, split at From_ lines.
set -u
out=${1:?usage: seed-fuzz_mime.sh DIR}
shared=${MAGPIE_SHARED:-../shared}
mkdir -p "$out"
[ -d "$shared/testdata" ] || { echo "seed-fuzz_mime.sh: no $shared/testdata"; exit 0; }
i=0
find "$shared/testdata/mail" "$shared/testdata/threading" \
    "$shared/testdata/threads/notmuch" -type f -size -1024k | sort |
while IFS= read -r f; do
	i=$((i + 1))
	cp "$f" "$out/seed-$i"
done
fed=$shared/testdata/threads/fedora-devel-2010-01/2010-January.txt
[ -r "$fed" ] && awk -v d="$out" '
	/^From / { n++; if (n > 60) exit }
	{ print > (d "/fedora-" n) }' "$fed"
exit 0
