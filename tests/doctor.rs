//! The doctor: probes pass and clean up, a non-destructive run creates
//! nothing, `require` turns missing guarantees into an error, and a failing
//! probe (made to fail with fault injection) is reported, not hidden.

use common::{leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan};
use safeatomic::{CheckStatus, DoctorOptions, ErrorKind, FsClass, Guarantee, Level, doctor};
use std::fs;
use std::path::Path;

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn destructive_probes_all_pass_and_leave_nothing_behind() {
    let d = tempdir();
    fs::write(d.path().join("existing"), b"keep").unwrap();
    let before = listing(d.path());
    let report = doctor(
        d.path().join("state.json"),
        &DoctorOptions::new().destructive(true),
    )
    .unwrap();
    for c in report.checks() {
        assert_eq!(c.status, CheckStatus::Passed, "{}: {:?}", c.name, c.detail);
    }
    assert_eq!(report.checks().len(), 13, "2 always-on checks + 11 probes");
    assert!(report.all_passed());
    assert_eq!(listing(d.path()), before, "probe files left behind");
    assert!(leftovers(d.path()).is_empty());
    assert_eq!(report.directory(), d.path());
}

#[test]
fn a_non_destructive_run_creates_no_file_and_reports_probes_as_not_run() {
    let d = tempdir();
    let report = doctor(d.path().join("x"), &DoctorOptions::new()).unwrap();
    assert!(listing(d.path()).is_empty());
    let statuses: Vec<_> = report.checks().iter().map(|c| c.status).collect();
    assert_eq!(&statuses[..2], &[CheckStatus::Passed, CheckStatus::Passed]);
    assert!(statuses[2..].iter().all(|s| *s == CheckStatus::NotRun));
    assert!(report.summary().contains("probes not run"));
}

#[test]
fn a_directory_path_is_examined_itself() {
    let d = tempdir();
    let report = doctor(d.path(), &DoctorOptions::new()).unwrap();
    assert_eq!(report.directory(), d.path());
}

#[test]
fn require_fails_with_the_missing_guarantees_listed() {
    let d = tempdir();
    // On the machine's disk everything is Guaranteed: a requirement is met.
    let all = DoctorOptions::new()
        .destructive(true)
        .require(Guarantee::ALL);
    let on_disk = doctor(d.path().join("x"), &all);
    if on_disk
        .as_ref()
        .is_ok_and(|r| r.environment().filesystem_class() == safeatomic::FsClass::LocalPersistent)
    {
        assert!(on_disk.is_ok());
    }
    // A failed probe makes the guarantees it supports missing. Fail the
    // fsync of the probe file: find its call index in a clean run.
    let opts = DoctorOptions::new().destructive(true);
    // Warm the per-process caches (umask, filesystem) so the recorded and
    // the injected runs make the same calls.
    doctor(d.path().join("x"), &opts).unwrap();
    let (_, trace) = fault::record(|| doctor(d.path().join("x"), &opts));
    let fsync_file = trace.calls.iter().position(|c| c.name == "fsync").unwrap();
    let (result, _) = fault::inject(Plan::fail(fsync_file, Errno::IO.raw_os_error()), || {
        doctor(
            d.path().join("x"),
            &opts.clone().require([Guarantee::CrashDurability]),
        )
    });
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment);
    assert!(e.to_string().contains("CrashDurability"), "{e}");
    assert!(e.to_string().contains("probe `fsync file` failed"), "{e}");
    assert!(
        listing(d.path()).is_empty(),
        "probe files must be removed even when a probe fails"
    );
}

/// A fresh directory on the tmpfs `/dev/shm` (which exists without root),
/// or `None` after a visible skip.
fn tmpfs_dir(test: &str) -> Option<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        common::mounts::skip(test, "a tmpfs at /dev/shm", "/dev/shm does not exist");
        return None;
    }
    let dir = match tempfile::tempdir_in(shm) {
        Ok(dir) => dir,
        Err(e) => {
            common::mounts::skip(test, "a writable tmpfs at /dev/shm", &e.to_string());
            return None;
        }
    };
    let class = doctor(dir.path(), &DoctorOptions::new())
        .map(|r| r.environment().filesystem_class())
        .ok();
    if class != Some(FsClass::LocalMemory) {
        let why = match class {
            Some(class) => format!("/dev/shm is {}, not tmpfs", class.name()),
            None => "the doctor cannot examine /dev/shm".to_owned(),
        };
        common::mounts::skip(test, "a tmpfs at /dev/shm", &why);
        return None;
    }
    Some(dir)
}

#[test]
fn require_by_level_on_tmpfs_refuses_crash_durability_and_accepts_atomic_visibility() {
    let Some(d) = tmpfs_dir("require_by_level_on_tmpfs") else {
        return;
    };
    let path = d.path().join("state.json");
    let report = doctor(&path, &DoctorOptions::new()).unwrap();
    assert_eq!(report.environment().filesystem(), "tmpfs");
    assert_eq!(report.level(Guarantee::CrashDurability), Level::BestEffort);
    assert_eq!(report.level(Guarantee::AtomicVisibility), Level::Guaranteed);
    assert_eq!(
        report.missing(&[Guarantee::AtomicVisibility, Guarantee::CrashDurability]),
        vec![(
            Guarantee::CrashDurability,
            "BestEffort on tmpfs".to_string()
        )]
    );

    // CrashDurability is only BestEffort on tmpfs: refused, with and
    // without the probes, listing that guarantee and its reason only.
    for destructive in [false, true] {
        let opts = DoctorOptions::new().destructive(destructive);
        let e = doctor(&path, &opts.clone().require([Guarantee::CrashDurability])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment, "{e}");
        assert_eq!(e.path(), path);
        let text = e.to_string();
        assert!(
            text.contains("missing: CrashDurability (BestEffort on tmpfs)"),
            "{text}"
        );
        // Required together with a guarantee that holds, only the missing
        // one is listed.
        let e = doctor(
            &path,
            &opts
                .clone()
                .require([Guarantee::AtomicVisibility, Guarantee::CrashDurability]),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment, "{e}");
        assert!(e.to_string().contains("CrashDurability"), "{e}");
        assert!(!e.to_string().contains("AtomicVisibility"), "{e}");

        // AtomicVisibility is Guaranteed there (and its probes pass).
        let report = doctor(&path, &opts.require([Guarantee::AtomicVisibility])).unwrap();
        assert!(report.all_passed(), "{report}");
        assert!(listing(d.path()).is_empty(), "probe files left behind");
    }
}

#[test]
fn a_failing_probe_is_reported_with_the_os_error_and_others_still_run() {
    let d = tempdir();
    let opts = DoctorOptions::new().destructive(true);
    // Warm the per-process caches (umask, filesystem) so the recorded and
    // the injected runs make the same calls.
    doctor(d.path().join("x"), &opts).unwrap();
    let (_, trace) = fault::record(|| doctor(d.path().join("x"), &opts));
    let exchange = trace
        .calls
        .iter()
        .position(|c| c.name == "renameat2(RENAME_EXCHANGE)")
        .unwrap();
    let (result, _) = fault::inject(Plan::fail(exchange, Errno::INVAL.raw_os_error()), || {
        doctor(d.path().join("x"), &opts)
    });
    let report = result.unwrap();
    let c = report
        .checks()
        .iter()
        .find(|c| c.name == "rename exchange")
        .unwrap();
    assert_eq!(c.status, CheckStatus::Failed);
    assert!(
        c.detail.as_deref().unwrap().contains("Invalid argument"),
        "{c:?}"
    );
    assert!(!report.all_passed());
    let after: Vec<_> = report
        .checks()
        .iter()
        .skip_while(|c| c.name != "rename exchange")
        .skip(1)
        .collect();
    assert!(
        after.iter().all(|c| c.status == CheckStatus::Passed),
        "later probes still ran"
    );
    assert!(listing(d.path()).is_empty());
}

#[test]
fn a_missing_directory_is_not_found() {
    let d = tempdir();
    let e = doctor(d.path().join("nope/x"), &DoctorOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn the_report_serializes_for_machines() {
    let d = tempdir();
    let report = doctor(d.path().join("x"), &DoctorOptions::new().destructive(true)).unwrap();
    let v = serde_json::to_value(&report).unwrap();
    assert!(v["environment"]["filesystem"].is_string());
    assert!(v["environment"]["filesystem_class"].is_string());
    assert_eq!(v["checks"].as_array().unwrap().len(), 13);
    assert_eq!(v["checks"][0]["status"], "passed");
    assert_eq!(v["guarantees"].as_object().map(|m| m.len()), Some(8));
    assert_eq!(v["guarantees"]["CrossDeviceSafety"], "Guaranteed");
}

/// What a doctor run killed mid-way leaves: its marker (no longer locked)
/// and some probe files.
fn plant_dead_run(dir: &Path, id: &str, with_marker: bool) -> Vec<String> {
    let mut names = vec![
        common::probe_name(id, "-replace"),
        common::probe_name(id, "-lock.lock"),
        common::probe_name(id, "-checksum.sha256"),
    ];
    if with_marker {
        names.push(common::probe_name(id, ""));
    }
    for n in &names {
        fs::write(dir.join(n), b"probe").unwrap();
    }
    names
}

#[test]
fn probe_files_of_killed_runs_are_removed_and_a_live_runs_are_not() {
    let d = tempdir();
    let dir = d.path();
    // A run still going: its marker is locked (by this process, as the
    // doctor does), so neither a doctor run nor cleanup_litter touches it.
    let live = plant_dead_run(dir, "1111111111111111", true);
    let marker = fs::File::open(dir.join(common::probe_name("1111111111111111", ""))).unwrap();
    rustix::fs::flock(
        &marker,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .unwrap();
    // Two dead runs: one with its marker, one killed after removing it
    // (or before its files were all gone); and things that only look alike.
    plant_dead_run(dir, "2222222222222222", true);
    plant_dead_run(dir, "3333333333333333", false);
    fs::write(dir.join(common::probe_name("notarunid", "")), b"x").unwrap();
    std::os::unix::fs::symlink(
        "/etc/passwd",
        dir.join(common::probe_name("4444444444444444", "-x")),
    )
    .unwrap();
    fs::write(dir.join("data.json"), b"{}").unwrap();

    let report = doctor(dir, &DoctorOptions::new().destructive(true)).unwrap();
    assert!(
        report
            .checks()
            .iter()
            .all(|c| c.status == CheckStatus::Passed),
        "{report:?}"
    );
    let mut expected: Vec<String> = live.clone();
    expected.extend([
        common::probe_name("4444444444444444", "-x"),
        common::probe_name("notarunid", ""),
        "data.json".to_owned(),
    ]);
    expected.sort();
    assert_eq!(
        listing(dir),
        expected,
        "a doctor run removes only dead runs' probe files"
    );

    // cleanup_litter does the same, and counts what it removed.
    plant_dead_run(dir, "5555555555555555", true);
    assert_eq!(safeatomic::cleanup_litter(dir).unwrap(), 4);
    assert_eq!(listing(dir), expected);
    // Once the run has ended (its lock released), its files are litter too.
    drop(marker);
    assert_eq!(safeatomic::cleanup_litter(dir).unwrap(), live.len());
    assert_eq!(
        listing(dir),
        [
            common::probe_name("4444444444444444", "-x"),
            common::probe_name("notarunid", ""),
            "data.json".to_owned()
        ]
    );
    assert_eq!(fs::read(dir.join("data.json")).unwrap(), b"{}");
}
