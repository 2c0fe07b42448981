#!/bin/sh
# The programs the test suite drives besides Python, checked first by `make test`: Chromium
# (the explorer's browser tests, headless through Playwright) and curl, jq and openssl (the
# documented commands run against `catalog serve`, tests/test_readme_examples.py).
#
# What is missing is installed with apt-get when this runs as root on a Debian-like system,
# as CI (.ci/run, a fresh machine) does; otherwise it stops at once, before any install,
# naming the exact command to run. CATALOG_CHROMIUM may name a Chromium installed elsewhere.
set -eu

missing() {
    out=""
    if [ -n "${CATALOG_CHROMIUM:-}" ] && [ -x "$CATALOG_CHROMIUM" ]; then
        :
    elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
        out="chromium"
    fi
    for tool in curl jq openssl; do
        command -v "$tool" >/dev/null 2>&1 || out="$out $tool"
    done
    echo $out
}

packages=$(missing)
[ -z "$packages" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing what the test suite drives: $packages (apt-get, about a minute)"
    apt-get update -q
    # shellcheck disable=SC2086 # one package per word
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $packages
    still=$(missing)
    if [ -n "$still" ]; then
        echo "error: apt-get installed $packages but $still is still not on PATH" >&2
        exit 1
    fi
    exit 0
fi

echo "error: the test suite needs $packages, which this machine lacks (Chromium drives the" >&2
echo "explorer's browser tests; curl, jq and openssl run the documented commands). Install:" >&2
echo "    sudo apt-get install -y $packages    (Debian/Ubuntu; other systems: their packages)" >&2
echo "then run make test again." >&2
exit 1
