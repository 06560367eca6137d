#!/bin/sh
# The man pages are clean mdoc.
command -v mandoc >/dev/null 2>&1 || { echo "mandoc not installed"; exit 77; }
out=$(mandoc -T lint man/magpie.1 man/magpie.ini.5 2>&1)
[ -z "$out" ] || { printf '%s\n' "$out"; exit 1; }
