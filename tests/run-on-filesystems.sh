#!/usr/bin/env bash
# Runs the core integration tests on each filesystem safeatomic guarantees
# things on: ext4, xfs and btrfs (each on a loop device backed by a sparse
# file) and tmpfs. Every test creates its files under `common::tempdir()`,
# which honours SAFEATOMIC_TEST_DIR, so pointing that at a mount point runs
# the whole suite there. Root only; called from .ci/run.
#
# Usage: tests/run-on-filesystems.sh [FS...]      (default: ext4 xfs btrfs tmpfs)
# Environment:
#   SAFEATOMIC_FS_TESTS   test targets (default: core locks checksums processes kills)
#   SAFEATOMIC_FS_WORKDIR where the images and mount points go (default: /var/tmp)
#   SAFEATOMIC_FS_TEST_ARGS extra arguments for the test binaries (after `--`),
#                         e.g. "--skip NAME"; none by default: every test runs
#                         on every filesystem
#
# Every mount, loop device and image is removed on exit, also on failure or
# interruption (trap).
set -euo pipefail

cd "$(dirname "$0")/.."

filesystems=("$@")
if [ ${#filesystems[@]} -eq 0 ]; then
    filesystems=(ext4 xfs btrfs tmpfs)
fi
read -r -a targets <<<"${SAFEATOMIC_FS_TESTS:-core locks checksums processes kills}"
read -r -a extra <<<"${SAFEATOMIC_FS_TEST_ARGS:-}"
# --no-fail-fast: a failing target does not hide the others' results.
test_args=(--no-fail-fast)
for t in "${targets[@]}"; do
    test_args+=(--test "$t")
done

# Loop images are sparse: the size is a ceiling, not an allocation. The
# checksum suite streams a 2 GiB file (SAFEATOMIC_BIG_MIB), so 4 GiB.
IMAGE_SIZE=4G
# tmpfs holds its files in memory: the same 2 GiB stream would need 2 GiB
# of RAM on the CI machine, so on tmpfs the stream is 256 MiB. It is the
# same code path (streamed hashing with flat memory); the 2 GiB run itself
# happens in the main test step on the host filesystem.
TMPFS_SIZE=1G
TMPFS_BIG_MIB=256

if [ "$(id -u)" -ne 0 ]; then
    echo "run-on-filesystems: needs root (loop devices, mount)" >&2
    exit 1
fi

work="$(mktemp -d "${SAFEATOMIC_FS_WORKDIR:-/var/tmp}/safeatomic-fs-matrix-XXXXXX")"
mounted=()
attached=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || status=1
    done
    for dev in "${attached[@]}"; do
        losetup -d "$dev" || status=1
    done
    rm -rf "$work" || status=1
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkfs_for() {
    case "$1" in
    ext4) mkfs.ext4 -q -F "$2" ;;
    xfs) mkfs.xfs -q -f "$2" ;;
    btrfs) mkfs.btrfs -q -f "$2" ;;
    *)
        echo "run-on-filesystems: unknown filesystem $1 (ext4, xfs, btrfs, tmpfs)" >&2
        return 1
        ;;
    esac
}

# Build once, so each filesystem's time below is its tests only.
cargo test -p safeatomic-tests "${test_args[@]}" --no-run
if [ ${#extra[@]} -gt 0 ]; then
    echo "run-on-filesystems: passing ${extra[*]} to every test binary (SAFEATOMIC_FS_TEST_ARGS)"
fi

summary=()
failed=()
for fs in "${filesystems[@]}"; do
    mnt="$work/$fs"
    mkdir -p "$mnt"
    big_mib=2048
    if [ "$fs" = tmpfs ]; then
        mount -t tmpfs -o "size=$TMPFS_SIZE,mode=1777" safeatomic-matrix "$mnt"
        big_mib=$TMPFS_BIG_MIB
    else
        image="$work/$fs.img"
        truncate -s "$IMAGE_SIZE" "$image"
        mkfs_for "$fs" "$image"
        dev="$(losetup -f --show "$image")"
        attached+=("$dev")
        mount "$dev" "$mnt"
    fi
    mounted+=("$mnt")
    chmod 1777 "$mnt"

    printf '\n==== %s: %s ====\n' "$fs" "$(findmnt -n -o FSTYPE,SOURCE,OPTIONS "$mnt")"
    echo "SAFEATOMIC_TEST_DIR=$mnt SAFEATOMIC_BIG_MIB=$big_mib cargo test -p safeatomic-tests ${test_args[*]} -- ${extra[*]}"
    start=$SECONDS
    if SAFEATOMIC_TEST_DIR="$mnt" SAFEATOMIC_BIG_MIB="$big_mib" \
        cargo test -p safeatomic-tests "${test_args[@]}" -- "${extra[@]}"; then
        summary+=("$fs: passed in $((SECONDS - start)) s")
    else
        summary+=("$fs: FAILED after $((SECONDS - start)) s")
        failed+=("$fs")
    fi

    # Unmount now (not only at exit): a test that left a file open or a
    # process behind makes this fail loudly.
    umount "$mnt"
    unset 'mounted[${#mounted[@]}-1]'
    if [ "$fs" != tmpfs ]; then
        losetup -d "$dev"
        unset 'attached[${#attached[@]}-1]'
        rm -f "$image"
    fi
done

printf '\n'
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "run-on-filesystems: failed on ${failed[*]}" >&2
    exit 1
fi
