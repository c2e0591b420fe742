#!/usr/bin/env bash
# Makes (once) the fresh Debian 12 tree the package test installs lienthong_*.deb into: a
# debootstrap minbase of bookworm plus the shared libraries the package depends on, packed
# as a tarball so that each test run unpacks a clean copy and needs no network.
#
#   deploy/debian-base.sh            (as root; downloads from deb.debian.org, a few minutes)
#
# The tarball goes to $LIENTHONG_DEBIAN_BASE (default /var/cache/lienthong/debian12-base-2.tgz).
# Nothing is done when it exists already; delete it to make a new one.
set -euo pipefail
base=${LIENTHONG_DEBIAN_BASE:-/var/cache/lienthong/debian12-base-2.tgz}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ -f "$base" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-base: debootstrap needs root; run this script as root" >&2
  exit 1
fi
command -v debootstrap >/dev/null || { echo "debian-base: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
# The runtime libraries of lienthong-node and lienthong-admin (the .deb's Depends, as
# dpkg-shlibdeps computes them), and adduser for the postinst.
# The name's number changes with this list, so that an older base is not used by mistake
# (2: libxmlsec1, libxmlsec1-openssl and libzip4 for edXML signatures and zipped parts).
include=libzmq5,libsodium23,liblmdb0,libyaml-cpp0.7,libxml2,libutf8proc2,libsystemd0,libstdc++6,libgcc-s1,adduser,libxmlsec1,libxmlsec1-openssl,libzip4
work=$(mktemp -d /var/tmp/lienthong-debian-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "debian-base: debootstrap bookworm (minbase + $include) into $work"
if ! debootstrap --variant=minbase --include="$include" bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  echo "debian-base: debootstrap failed (log above)" >&2
  exit 1
fi
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
mkdir -p "$(dirname "$base")"
tar -C "$work/root" -czf "$base.tmp" .
mv "$base.tmp" "$base"
echo "debian-base: $base ($(du -h "$base" | cut -f1))"
