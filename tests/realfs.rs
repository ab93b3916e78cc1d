//! Root-only tests on real filesystems.

#[test]
fn smoke() {
    if !common::mounts::require_root("smoke") {
        return;
    }
    let m = common::mounts::Mount::loop_fs("xfs", 300);
    let t = common::mounts::Mount::tmpfs("1M");
    let o = common::mounts::Mount::overlay();
    let b = common::mounts::Mount::loop_fs("btrfs", 128);
    let e = common::mounts::Mount::loop_fs("ext4", 64);
    for x in [&m, &t, &o, &b, &e] {
        eprintln!("{}", safeatomic::inspect_guarantees(x.path()).unwrap());
    }
    std::process::Command::new("findmnt").arg("-l").status().unwrap();
}
