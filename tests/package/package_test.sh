#!/usr/bin/env bash
# The Debian package, end to end in a fresh Debian 12 tree: builds lienthong_*.deb from this
# build tree (cpack), checks what it holds, then with dpkg inside a chroot of a clean bookworm
# (deploy/debian-base.sh makes it once) installs it, sets up a node the way the README says,
# runs it as the lienthong user, upgrades over it, purges it, and checks what remains:
#   - install: the user, /etc/lienthong root:lienthong 0750, /var/lib/lienthong
#     lienthong:lienthong 0700, the binaries, man pages and unit;
#   - an existing config and key are never overwritten (install over them, reinstall);
#   - purge keeps the config, the key and the database (and so the folders and the user);
#     purge of an untouched install leaves nothing; LIENTHONG_PURGE_DATA=yes removes all;
#     a `lienthong` user the admin made is never removed.
# Usage: package_test.sh BUILD_DIR. Exit 77 (ctest: skipped) with the reason when it cannot
# run here: not root, no chroot or cpack, or no Debian 12 base.
set -euo pipefail
build=$(cd "$1" && pwd)
base=${LIENTHONG_DEBIAN_BASE:-/var/cache/lienthong/debian12-base-3.tgz}

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, dpkg in a chroot)"
command -v chroot >/dev/null || skip "no chroot command"
command -v cpack >/dev/null || skip "no cpack"
command -v dpkg-deb >/dev/null || skip "no dpkg-deb"
[ -f "$base" ] || skip "no Debian 12 base at $base: run deploy/debian-base.sh once as root (downloads with debootstrap)"

work=$(mktemp -d /var/tmp/lienthong-package-test.XXXXXX)
root=$work/root
node_pid=
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  umount "$root/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok: $what"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
stat_of() { in_root stat -c '%U:%G %a' "$1"; }

# --- the package ---------------------------------------------------------------------------
(cd "$build" && cpack -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/deb/lienthong_*.deb)
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/lienthong-node ./usr/bin/lienthong-admin ./usr/lib/systemd/system/lienthong.service \
         ./usr/share/man/man1/lienthong-node.1.gz ./usr/share/man/man1/lienthong-admin.1.gz \
         ./usr/share/doc/lienthong/README.md; do
  grep -q " $f\$" <<<"$contents" || fail "the package does not hold $f"
done
echo "ok: the package holds both binaries, the unit, both man pages and the README"
grep -q ' \./etc/' <<<"$contents" && fail "the package ships files under /etc (config must come from init, never from the package)"
depends=$(dpkg-deb -f "$deb" Depends)
for d in libsodium23 liblmdb0 libzmq5 libsystemd0 adduser; do
  grep -q "$d" <<<"$depends" || fail "Depends lacks $d: $depends"
done
echo "ok: Depends: $depends"

# --- a fresh Debian 12 ----------------------------------------------------------------------
mkdir -p "$root"
tar -C "$root" -xzf "$base"
mount -t proc proc "$root/proc"
cp "$deb" "$root/tmp/lienthong.deb"
in_root getent passwd lienthong >/dev/null && fail "the base already has a lienthong user"

in_root dpkg -i /tmp/lienthong.deb >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
check "installed" bash -c "chroot '$root' dpkg-query -W -f='\${Status}' lienthong | grep -q 'install ok installed'"
user=$(in_root getent passwd lienthong)
uid=$(cut -d: -f3 <<<"$user")
check "lienthong is a system user (uid $uid) with no login shell" bash -c "[ $uid -lt 1000 ] && [ '$(cut -d: -f7 <<<"$user")' = /usr/sbin/nologin ]"
check "/etc/lienthong is root:lienthong 0750" [ "$(stat_of /etc/lienthong)" = "root:lienthong 750" ]
check "/var/lib/lienthong is lienthong:lienthong 0700" [ "$(stat_of /var/lib/lienthong)" = "lienthong:lienthong 700" ]
check "lienthong-node --help runs" bash -c "chroot '$root' lienthong-node --help | grep -q -- --config"
check "lienthong-admin --help runs" bash -c "chroot '$root' lienthong-admin --help | grep -q backup"

# --- a node set up as the README says, run as lienthong --------------------------------------
port=$(( 20000 + RANDOM % 20000 ))
in_root lienthong-admin init --agency 000.00.31.H41 --name "Sở Y tế" --listen "tcp://127.0.0.1:$port" \
  --dir /etc/lienthong --data-dir /var/lib/lienthong --user lienthong >"$work/init.log" 2>&1 \
  || { cat "$work/init.log"; fail "lienthong-admin init"; }
check "node.key is lienthong:lienthong 0600" [ "$(stat_of /etc/lienthong/node.key)" = "lienthong:lienthong 600" ]
check "node.yaml is root:lienthong 0640" [ "$(stat_of /etc/lienthong/node.yaml)" = "root:lienthong 640" ]
chroot --userspec=lienthong:lienthong "$root" /usr/bin/lienthong-node --config /etc/lienthong/node.yaml \
  2>"$work/node.log" &
node_pid=$!
for _ in $(seq 1 100); do [ -S "$root/var/lib/lienthong/api.sock" ] && break; sleep 0.1; done
[ -S "$root/var/lib/lienthong/api.sock" ] ||
  fail "the node did not open its API within 10 s; its log: $(tail -5 "$work/node.log")"
check "the node runs as lienthong and answers the admin" \
  bash -c "chroot '$root' lienthong-admin -c /etc/lienthong/node.yaml status | grep -q 000.00.31.H41"
kill -TERM "$node_pid"; wait "$node_pid" || fail "the node did not stop cleanly: $(tail -3 "$work/node.log")"
node_pid=
check "the database belongs to lienthong" [ "$(stat_of /var/lib/lienthong/data.mdb)" = "lienthong:lienthong 600" ]

# --- an upgrade (the same package again) keeps config and key ---------------------------------
sums=$(in_root sha256sum /etc/lienthong/node.yaml /etc/lienthong/node.key /var/lib/lienthong/data.mdb)
in_root dpkg -i /tmp/lienthong.deb >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log"; fail "dpkg -i again"; }
check "reinstall keeps config, key and database byte for byte" [ "$(in_root sha256sum /etc/lienthong/node.yaml /etc/lienthong/node.key /var/lib/lienthong/data.mdb)" = "$sums" ]
check "reinstall keeps the owners and modes" [ "$(stat_of /etc/lienthong/node.key) $(stat_of /var/lib/lienthong)" = "lienthong:lienthong 600 lienthong:lienthong 700" ]

# --- purge keeps the agency's data ---------------------------------------------------------
in_root dpkg --purge lienthong >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
check "purge removes the binaries and the unit" bash -c "[ ! -e '$root/usr/bin/lienthong-node' ] && [ ! -e '$root/usr/bin/lienthong-admin' ] && [ ! -e '$root/usr/lib/systemd/system/lienthong.service' ]"
check "purge keeps config, key and database" [ "$(in_root sha256sum /etc/lienthong/node.yaml /etc/lienthong/node.key /var/lib/lienthong/data.mdb)" = "$sums" ]
check "purge keeps the lienthong user while its files remain" bash -c "chroot '$root' getent passwd lienthong >/dev/null"

# --- reinstall over kept data, then purge with LIENTHONG_PURGE_DATA=yes ----------------------
in_root dpkg -i /tmp/lienthong.deb >"$work/install2.log" 2>&1 || { cat "$work/install2.log"; fail "dpkg -i over kept data"; }
check "install over kept data keeps it" [ "$(in_root sha256sum /etc/lienthong/node.yaml /etc/lienthong/node.key /var/lib/lienthong/data.mdb)" = "$sums" ]
check "and keeps the same user (uid $uid)" [ "$(in_root id -u lienthong)" = "$uid" ]
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LIENTHONG_PURGE_DATA=yes dpkg --purge lienthong \
  >"$work/purge2.log" 2>&1 || { cat "$work/purge2.log"; fail "dpkg --purge with LIENTHONG_PURGE_DATA=yes"; }
check "LIENTHONG_PURGE_DATA=yes removes the folders" bash -c "[ ! -e '$root/etc/lienthong' ] && [ ! -e '$root/var/lib/lienthong' ]"
check "and the user the package made" bash -c "! chroot '$root' getent passwd lienthong >/dev/null && ! chroot '$root' getent group lienthong >/dev/null"

# --- an untouched install purges to nothing ------------------------------------------------------
in_root dpkg -i /tmp/lienthong.deb >/dev/null 2>&1 || fail "dpkg -i (third)"
in_root dpkg --purge lienthong >/dev/null 2>&1 || fail "dpkg --purge (third)"
check "purge of an unused install leaves no folder and no user" \
  bash -c "[ ! -e '$root/etc/lienthong' ] && [ ! -e '$root/var/lib/lienthong' ] && ! chroot '$root' getent passwd lienthong >/dev/null"

# --- a user and a config the admin made first -------------------------------------------------
in_root adduser --system --group --quiet --home /var/lib/lienthong --no-create-home lienthong
in_root install -d -o root -g root -m 0755 /etc/lienthong
echo "agency: mine" | in_root tee /etc/lienthong/node.yaml >/dev/null
in_root dpkg -i /tmp/lienthong.deb >/dev/null 2>&1 || fail "dpkg -i over the admin's own user and config"
check "an existing config is not touched, nor its folder's owner and mode" \
  bash -c "[ \"\$(cat '$root/etc/lienthong/node.yaml')\" = 'agency: mine' ] && [ \"\$(chroot '$root' stat -c '%U:%G %a' /etc/lienthong)\" = 'root:root 755' ]"
in_root rm /etc/lienthong/node.yaml
in_root dpkg --purge lienthong >/dev/null 2>&1 || fail "dpkg --purge (fourth)"
check "purge never removes a lienthong user the package did not make" bash -c "chroot '$root' getent passwd lienthong >/dev/null"
echo "PASS"
