//! Where the time between the syscall floor and `write_atomic` goes: the
//! floor with safeatomic's extra steps added one at a time, interleaved in
//! one run, so each step's cost is the difference between two neighbours.

use crate::{BoxResult, Opts, interleaved, machine, stats, workdir};
use rustix::fd::OwnedFd;
use rustix::fs::{FlockOperation, Mode, OFlags};
use safeatomic::WriteOptions;
use std::path::Path;

/// The steps added to the floor, cumulatively.
#[derive(Clone, Copy)]
struct Steps {
    /// A fresh random temp name per write (`getrandom`), not a fixed one.
    random_name: bool,
    /// Close the temp file after the rename (as safeatomic and tempfile do),
    /// not before it.
    close_after_rename: bool,
    /// `flock(LOCK_EX)` + `fstat` on the temp file (decision 0002).
    flock_temp: bool,
    /// `fstatat` of the target, `fstat` + `fstatfs` of the directory.
    stats: bool,
    /// List the directory (`getdents64` on the directory fd): the litter sweep.
    list_dir: bool,
    /// Open the directory with `O_NOATIME`, as the library does (decision 0007).
    noatime: bool,
    /// Hold `flock` on `<target>.lock` around the write (open, lock,
    /// unlock, close), without a payload.
    lock: bool,
    /// Write the 512-byte payload record once locked, blank it before
    /// unlocking (decision 0006).
    payload: bool,
}

const NONE: Steps = Steps {
    random_name: false,
    close_after_rename: false,
    flock_temp: false,
    stats: false,
    list_dir: false,
    noatime: false,
    lock: false,
    payload: false,
};

fn write_all(fd: &OwnedFd, mut data: &[u8]) -> BoxResult<()> {
    while !data.is_empty() {
        let n = rustix::io::write(fd, data)?;
        data = &data[n..];
    }
    Ok(())
}

/// The floor plus `steps`, in safeatomic's order.
fn staged(path: &Path, data: &[u8], steps: Steps) -> BoxResult<()> {
    let dir_path = path.parent().ok_or("no parent")?;
    let name = path.file_name().ok_or("no name")?;
    let noatime = if steps.noatime {
        OFlags::NOATIME
    } else {
        OFlags::empty()
    };
    let dir = rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | noatime,
        Mode::empty(),
    )?;
    let lock = if steps.lock {
        let mut lock_name = name.to_owned();
        lock_name.push(".lock");
        let fd = rustix::fs::openat(
            &dir,
            lock_name.as_os_str(),
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        rustix::fs::flock(&fd, FlockOperation::LockExclusive)?;
        if steps.payload {
            let mut record = [b' '; 512];
            let line = format!(
                "{{\"version\":1,\"pid\":{},\"hostname\":\"h\",\"session_hash\":null}}\n",
                std::process::id()
            );
            record[..line.len()].copy_from_slice(line.as_bytes());
            rustix::io::pwrite(&fd, &record, 0)?;
        }
        Some(fd)
    } else {
        None
    };
    if steps.stats {
        match rustix::fs::statat(&dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        rustix::fs::fstat(&dir)?;
        rustix::fs::fstatfs(&dir)?;
    }
    if steps.list_dir {
        let mut buf = Vec::with_capacity(8192);
        let mut entries = rustix::fs::RawDir::new(&dir, buf.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            entry?;
        }
        rustix::fs::seek(&dir, rustix::fs::SeekFrom::Start(0))?;
    }
    let tmp = if steps.random_name {
        let mut key = [0u8; 8];
        rustix::rand::getrandom(&mut key, rustix::rand::GetRandomFlags::empty())?;
        format!(".ablation-{:016x}.tmp", u64::from_ne_bytes(key))
    } else {
        format!(".ablation-{}.tmp", std::process::id())
    };
    let fd = rustix::fs::openat(
        &dir,
        tmp.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    if steps.flock_temp {
        rustix::fs::flock(&fd, FlockOperation::LockExclusive)?;
        rustix::fs::fstat(&fd)?;
    }
    write_all(&fd, data)?;
    rustix::fs::fsync(&fd)?;
    let fd = if steps.close_after_rename {
        Some(fd)
    } else {
        drop(fd);
        None
    };
    rustix::fs::renameat(&dir, tmp.as_str(), &dir, name)?;
    drop(fd);
    rustix::fs::fsync(&dir)?;
    if let Some(lock) = lock {
        if steps.payload {
            rustix::io::pwrite(&lock, &[b' '; 512], 0)?;
        }
        rustix::fs::flock(&lock, FlockOperation::Unlock)?;
    }
    Ok(())
}

type Run = Box<dyn Fn(&Path, &[u8]) -> BoxResult<()>>;

/// The contenders: (name, the row it adds one step to, run).
fn contenders() -> Vec<(&'static str, Option<usize>, Run)> {
    let staged_run = |s: Steps| -> Run { Box::new(move |p, d| staged(p, d, s)) };
    let mut s = NONE;
    let mut out: Vec<(&'static str, Option<usize>, Run)> = Vec::new();
    out.push(("floor", None, staged_run(s)));
    s.random_name = true;
    out.push(("+ random temp name", Some(0), staged_run(s)));
    s.close_after_rename = true;
    out.push(("+ close after rename", Some(1), staged_run(s)));
    s.flock_temp = true;
    out.push(("+ flock + fstat of the temp file", Some(2), staged_run(s)));
    s.stats = true;
    out.push((
        "+ fstatat target, fstat + fstatfs dir",
        Some(3),
        staged_run(s),
    ));
    s.list_dir = true;
    out.push((
        "+ list the directory, atime updated (without decision 0007)",
        Some(4),
        staged_run(s),
    ));
    s.noatime = true;
    out.push((
        "+ list the directory, opened `O_NOATIME` (litter sweep)",
        Some(4),
        staged_run(s),
    ));
    s.lock = true;
    out.push((
        "+ lock file: open, flock, unlock, close",
        Some(6),
        staged_run(s),
    ));
    s.payload = true;
    out.push(("+ lock payload written and blanked", Some(7), staged_run(s)));
    out.push((
        "write_atomic, lock off",
        Some(6),
        Box::new(|p, d| {
            Ok(safeatomic::write_atomic_with(
                p,
                d,
                &WriteOptions::new().lock(false),
            )?)
        }),
    ));
    out.push((
        "write_atomic (lock on)",
        Some(8),
        Box::new(|p, d| Ok(safeatomic::write_atomic(p, d)?)),
    ));
    out
}

pub(crate) fn ablation(o: &Opts) -> BoxResult<()> {
    let dir = workdir(o)?;
    let fs = safeatomic::inspect_guarantees(dir.path().join("x"))?;
    let contenders = contenders();
    let data = vec![0x5au8; 4096];
    let paths: Vec<_> = (0..contenders.len())
        .map(|i| dir.path().join(format!("target-{i}")))
        .collect();
    for ((_, _, run), p) in contenders.iter().zip(&paths) {
        run(p, &data)?;
    }
    let n = contenders.len();
    let samples = interleaved(n, o.rounds, crate::writes::BLOCK, |i| {
        (contenders[i].2)(&paths[i], &data)
    })?;
    println!(
        "## Durable replace of 4 KiB: the floor plus safeatomic's steps, {} interleaved rounds\n",
        o.rounds
    );
    println!(
        "Machine: {}. Filesystem: {} ({}).\n",
        machine(),
        fs.environment().filesystem(),
        fs.environment().filesystem_class()
    );
    println!(
        "| # | contender | median | min | max | ratio to floor | step cost: median − median of row # |"
    );
    println!("|---|---|---|---|---|---|---|");
    let results: Vec<_> = samples.into_iter().map(stats).collect();
    let floor = results[0].0;
    for (i, ((name, base, _), (med, min, max))) in contenders.iter().zip(&results).enumerate() {
        let step = base.map_or("—".to_owned(), |j| {
            format!("{:+.0} µs (vs {j})", med - results[j].0)
        });
        println!(
            "| {i} | {name} | {med:.0} µs | {min:.0} | {max:.0} | {:.2}× | {step} |",
            med / floor
        );
    }
    println!();
    Ok(())
}
