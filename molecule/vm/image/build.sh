#!/usr/bin/env bash
# Builds the Debian 12 image of the `vm` scenario from Debian packages only, once per recipe.
#
#   molecule/vm/image/build.sh          prints the image directory (base.qcow2, vmlinuz, initrd.img)
#
# The recipe is this script, packages.txt and the files under rootfs/; the image is cached in
# $SWARMNET_VM_CACHE (default /var/cache/swarmnet-vm)/debian12-HASH, HASH being of the recipe,
# so it is rebuilt only when the recipe changes. Needs root, debootstrap, qemu-utils and a
# Debian mirror ($SWARMNET_VM_MIRROR, default http://deb.debian.org/debian); the VMs booted
# from it reach no mirror, so everything the hosts need is in packages.txt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SWARMNET_VM_CACHE:-/var/cache/swarmnet-vm}
mirror=${SWARMNET_VM_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
size=3G

recipe_hash() {
    (cd "$here" && find build.sh packages.txt rootfs -type f -print0 | sort -z |
        xargs -0 sha256sum && find rootfs -print0 | sort -z | xargs -0 stat -c '%n %a') |
        sha256sum | cut -c1-16
}

image=$cache/debian12-$(recipe_hash)
if [ -e "$image/done" ]; then
    echo "$image"
    exit 0
fi

for tool in debootstrap mkfs.ext4 qemu-img; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install -y debootstrap e2fsprogs qemu-utils)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/swarmnet-vm-image.XXXXXX")
rootfs=$work/rootfs
cleanup() {
    for m in dev/pts dev proc sys; do
        mountpoint -q "$rootfs/$m" && umount -l "$rootfs/$m"
    done
    rm -rf "$work"
}
trap cleanup EXIT

packages=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd, -)
echo "build.sh: debootstrap $suite from $mirror ($(echo "$packages" | tr , '\n' | wc -l) packages asked)" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# The recipe's own files, then what only makes sense inside: services, initramfs, cleanup.
cp -a "$here/rootfs/." "$rootfs/"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
chroot "$rootfs" /bin/sh -eu <<'EOF'
systemctl enable swarmnet-vm-setup.service systemd-networkd.service ssh.service >/dev/null 2>&1
# Each costs seconds of emulated boot and nothing here needs it.
systemctl mask systemd-networkd-wait-online.service e2scrub_reap.service apt-daily.timer \
    apt-daily-upgrade.timer man-db.timer >/dev/null 2>&1
rm -f /etc/ssh/ssh_host_*             # made at first boot (ed25519 only)
passwd -l root >/dev/null
echo swarmnet-vm > /etc/hostname
update-initramfs -u -k all >/dev/null 2>&1
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /usr/share/doc/* /usr/share/man/*
EOF
for m in dev/pts dev proc sys; do umount -l "$rootfs/$m"; done

mkdir -p "$work/out"
kernels=("$rootfs"/boot/vmlinuz-*)
[ ${#kernels[@]} -eq 1 ] || { echo "build.sh: expected one kernel, found: ${kernels[*]}" >&2; exit 1; }
version=${kernels[0]##*/vmlinuz-}
cp "${kernels[0]}" "$work/out/vmlinuz"
cp "$rootfs/boot/initrd.img-$version" "$work/out/initrd.img"
mkfs.ext4 -q -L root -d "$rootfs" "$work/disk.raw" "$size" >&2   # it says "Creating regular file" on stdout
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/out/base.qcow2"
chmod 0444 "$work/out/base.qcow2"
date -u +%FT%TZ > "$work/out/done"

mkdir -p "$cache"
rm -rf "$image"
mv "$work/out" "$image"
echo "$image"
