//! Durable replace of a file: safeatomic against the syscall floor and the
//! alternatives, interleaved, plus syscalls per operation counted by strace.

use crate::{BoxResult, Opts, interleaved, machine, stats, workdir};
use rustix::fs::{Mode, OFlags};
use safeatomic::{Algorithm, AtomicWriter, WriteOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// One way of durably replacing `path` with `data` (except the reference).
pub(crate) struct Contender {
    pub(crate) name: &'static str,
    pub(crate) durable: bool,
    pub(crate) run: fn(&Path, &[u8]) -> BoxResult<()>,
}

/// The minimal durable sequence, straight on rustix: open the directory,
/// create a temp file, write, fsync, rename over the target, fsync the
/// directory. Nothing can do less and still be atomic and durable.
fn floor(path: &Path, data: &[u8]) -> BoxResult<()> {
    let dir_path = path.parent().ok_or("no parent")?;
    let name = path.file_name().ok_or("no name")?;
    let dir = rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let tmp = format!(".floor-{}.tmp", std::process::id());
    let fd = rustix::fs::openat(
        &dir,
        tmp.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )?;
    let mut rest = data;
    while !rest.is_empty() {
        let n = rustix::io::write(&fd, rest)?;
        rest = &rest[n..];
    }
    rustix::fs::fsync(&fd)?;
    drop(fd);
    rustix::fs::renameat(&dir, tmp.as_str(), &dir, name)?;
    rustix::fs::fsync(&dir)?;
    Ok(())
}

fn sa_no_lock(path: &Path, data: &[u8]) -> BoxResult<()> {
    Ok(safeatomic::write_atomic_with(
        path,
        data,
        &WriteOptions::new().lock(false),
    )?)
}

fn sa_lock(path: &Path, data: &[u8]) -> BoxResult<()> {
    Ok(safeatomic::write_atomic(path, data)?)
}

fn sa_lock_sha256(path: &Path, data: &[u8]) -> BoxResult<()> {
    let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    Ok(safeatomic::write_atomic_with(path, data, &opts)?)
}

fn sa_writer(path: &Path, data: &[u8]) -> BoxResult<()> {
    let mut w = AtomicWriter::create(path)?;
    w.write_all(data)?;
    Ok(w.commit()?)
}

fn atomic_write_file(path: &Path, data: &[u8]) -> BoxResult<()> {
    let mut f = atomic_write_file::AtomicWriteFile::open(path)?;
    f.write_all(data)?;
    Ok(f.commit()?)
}

fn atomicwrites(path: &Path, data: &[u8]) -> BoxResult<()> {
    let f = atomicwrites::AtomicFile::new(path, atomicwrites::OverwriteBehavior::AllowOverwrite);
    f.write(|file| file.write_all(data))
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn tempfile_fsync(path: &Path, data: &[u8]) -> BoxResult<()> {
    let dir_path = path.parent().ok_or("no parent")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir_path)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    // tempfile's persist does not fsync the directory; to be fair, do it.
    std::fs::File::open(dir_path)?.sync_all()?;
    Ok(())
}

fn std_write(path: &Path, data: &[u8]) -> BoxResult<()> {
    Ok(std::fs::write(path, data)?)
}

pub(crate) const CONTENDERS: &[Contender] = &[
    Contender {
        name: "floor (rustix: temp, write, fsync, rename, fsync dir)",
        durable: true,
        run: floor,
    },
    Contender {
        name: "write_atomic, lock off",
        durable: true,
        run: sa_no_lock,
    },
    Contender {
        name: "write_atomic (lock on, the default)",
        durable: true,
        run: sa_lock,
    },
    Contender {
        name: "write_atomic, lock + sha256 sidecar",
        durable: true,
        run: sa_lock_sha256,
    },
    Contender {
        name: "AtomicWriter (lock on)",
        durable: true,
        run: sa_writer,
    },
    Contender {
        name: "atomic-write-file 0.3",
        durable: true,
        run: atomic_write_file,
    },
    Contender {
        name: "atomicwrites 0.4",
        durable: true,
        run: atomicwrites,
    },
    Contender {
        name: "tempfile 3 + sync_all + persist + dir fsync",
        durable: true,
        run: tempfile_fsync,
    },
    Contender {
        name: "std::fs::write (NOT durable, NOT atomic: reference only)",
        durable: false,
        run: std_write,
    },
];

/// Runs per contender per round: the first pays for its predecessor's
/// leftovers and is not timed (see [`interleaved`]).
pub(crate) const BLOCK: usize = 4;

/// Medians (µs) per contender for one size, measured interleaved.
pub(crate) fn measure(dir: &Path, size: usize, rounds: usize) -> BoxResult<Vec<(f64, f64, f64)>> {
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let paths: Vec<_> = (0..CONTENDERS.len())
        .map(|i| dir.join(format!("target-{i}")))
        .collect();
    for (c, p) in CONTENDERS.iter().zip(&paths) {
        (c.run)(p, &data)?; // warm up: the file exists, caches are filled
    }
    let samples = interleaved(CONTENDERS.len(), rounds, BLOCK, |i| {
        (CONTENDERS[i].run)(&paths[i], &data)
    })?;
    Ok(samples.into_iter().map(stats).collect())
}

/// Hidden subcommand for strace: `write-n INDEX N DIR SIZE`; index
/// `CONTENDERS.len()` is `Store::update` (one store, N updates).
pub(crate) fn write_n(args: &[String]) -> BoxResult<()> {
    let index: usize = args.first().ok_or("index")?.parse()?;
    let n: usize = args.get(1).ok_or("n")?.parse()?;
    let dir = Path::new(args.get(2).ok_or("dir")?);
    let size: usize = args.get(3).ok_or("size")?.parse()?;
    let data = vec![7u8; size];
    let path = dir.join(format!("strace-{index}"));
    if index == CONTENDERS.len() {
        let store = safeatomic::Store::<crate::Config>::open(&path)?;
        store.replace(crate::config())?;
        for _ in 0..n {
            store.update(|c| c.counter += 1)?;
        }
        return Ok(());
    }
    (CONTENDERS[index].run)(&path, &data)?; // the file exists before counting
    for _ in 0..n {
        (CONTENDERS[index].run)(&path, &data)?;
    }
    Ok(())
}

/// Total syscalls of `safeatomic-bench write-n INDEX N …` under `strace -c -f`.
fn strace_total(index: usize, n: usize, dir: &Path, size: usize) -> BoxResult<u64> {
    let out = dir.join(format!("strace-{index}-{n}.txt"));
    let status = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .arg(std::env::current_exe()?)
        .args(["write-n", &index.to_string(), &n.to_string()])
        .arg(dir)
        .arg(size.to_string())
        .status()?;
    if !status.success() {
        return Err(format!("strace run failed: {status}").into());
    }
    let text = std::fs::read_to_string(&out)?;
    let total = text
        .lines()
        .find(|l| l.trim_end().ends_with("total"))
        .ok_or("no total line in strace output")?;
    // "100.00    0.000123           1       123         4 total": calls is the 4th column.
    let calls = total.split_whitespace().nth(3).ok_or("short total line")?;
    Ok(calls.parse()?)
}

/// Syscalls per operation: (runs of N) − (runs of 0), divided by N.
fn syscalls_per_op(dir: &Path, size: usize, n: usize) -> BoxResult<Vec<f64>> {
    let n = n.max(1);
    let mut out = Vec::new();
    for i in 0..=CONTENDERS.len() {
        let base = strace_total(i, 0, dir, size)?;
        let many = strace_total(i, n, dir, size)?;
        out.push((many.saturating_sub(base)) as f64 / n as f64);
    }
    Ok(out)
}

pub(crate) fn writes(o: &Opts, svg: Option<&Path>) -> BoxResult<()> {
    let dir = workdir(o)?;
    let fs = safeatomic::inspect_guarantees(dir.path().join("x"))?;
    println!(
        "## Durable replace, {} interleaved rounds per size\n",
        o.rounds
    );
    let setting = format!(
        "Machine: {}. Directory: {} on {} ({}).",
        machine(),
        dir.path().display(),
        fs.environment().filesystem(),
        fs.environment().filesystem_class()
    );
    println!("{setting}\n");
    let mut chart = Vec::new();
    for (label, size) in [("4 KiB", 4096usize), ("1 MiB", 1 << 20)] {
        let rounds = if size > 65536 {
            o.rounds.div_ceil(2)
        } else {
            o.rounds
        };
        let results = measure(dir.path(), size, rounds)?;
        let calls = if o.syscalls {
            Some(syscalls_per_op(dir.path(), size, o.syscall_ops)?)
        } else {
            None
        };
        let floor = results[0].0;
        println!("### {label}\n");
        println!(
            "| contender | median | min | max | ratio to floor | syscalls / op |\n|---|---|---|---|---|---|"
        );
        for (i, (c, (med, min, max))) in CONTENDERS.iter().zip(&results).enumerate() {
            let sc = calls
                .as_ref()
                .map_or("—".to_owned(), |v| format!("{:.1}", v[i]));
            let name = if c.durable {
                c.name.to_owned()
            } else {
                format!("*{}*", c.name)
            };
            println!(
                "| {name} | {med:.0} µs | {min:.0} | {max:.0} | {:.2}× | {sc} |",
                med / floor
            );
        }
        if let Some(v) = &calls {
            println!(
                "| `Store::update` (same lock, one stat before and after) | | | | | {:.1} |",
                v[CONTENDERS.len()]
            );
        }
        println!();
        chart.push((
            label,
            results.iter().map(|r| r.0 / floor).collect::<Vec<_>>(),
        ));
    }
    if let Some(svg) = svg {
        draw(svg, &setting, &chart)?;
        println!("Chart: `{}`.", svg.display());
    }
    Ok(())
}

/// A horizontal bar chart of the ratios to the floor, one panel per size.
fn draw(svg: &Path, setting: &str, panels: &[(&str, Vec<f64>)]) -> BoxResult<()> {
    use plotters::prelude::*;
    let height = 60 + 40 * CONTENDERS.len() as u32;
    let root = SVGBackend::new(svg, (900, 30 + height * panels.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    // Where and when: machine, filesystem, date.
    let root = root.titled(setting, ("sans-serif", 12))?;
    let areas = root.split_evenly((panels.len(), 1));
    for (area, (label, ratios)) in areas.iter().zip(panels) {
        let max = ratios.iter().cloned().fold(1.0f64, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("Durable replace of {label}: median time relative to the syscall floor"),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(360)
            .build_cartesian_2d(0f64..max, 0..CONTENDERS.len())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(CONTENDERS.len())
            .y_label_formatter(&|i| {
                CONTENDERS
                    .get(*i)
                    .map_or(String::new(), |c| c.name.chars().take(48).collect())
            })
            .x_desc("× floor")
            .draw()?;
        chart.draw_series(ratios.iter().enumerate().map(|(i, r)| {
            let color = if CONTENDERS[i].durable {
                BLUE.mix(0.6)
            } else {
                RED.mix(0.4)
            };
            Rectangle::new([(0.0, i), (*r, i + 1)], color.filled())
        }))?;
    }
    root.present()?;
    Ok(())
}
