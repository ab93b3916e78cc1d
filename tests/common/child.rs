//! Helpers for tests that drive `sa-child` processes.
//!
//! Two halves, shared by the `sa-child` binary and the tests so both sides
//! agree byte for byte:
//!
//! * **Self-validating payloads** ([`make_payload`], [`verify_payload`]):
//!   any reader can tell from the bytes alone whether it holds one complete
//!   version written by [`make_payload`], and which one (sequence number and
//!   tag). The filler is derived from the sequence number and tag, so two
//!   versions differ everywhere and a mix of two versions, a truncation or a
//!   run of zeroes is detected; every filler byte is checked.
//! * **Process handling** ([`ChildGuard`], [`AckReader`]): a child is killed
//!   and reaped on every path, including a failing assertion, so a test
//!   never leaves an orphan behind.
//!
//! # Payload layout
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic [`MAGIC`] |
//! | 8 | total length in bytes (LE) |
//! | 8 | sequence number (LE) |
//! | 4 | tag length `t` (LE) |
//! | `t` | tag (UTF-8) |
//! | … | filler: a 4093-byte xorshift block seeded from sequence number and tag, repeated (the last copy cut short) |
//! | 8 | FNV-1a 64 of the header and tag (LE); the filler is checked byte for byte against its seed instead |

use std::fmt;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The first eight bytes of every payload.
pub const MAGIC: &[u8; 8] = b"SAPAYLD1";

const HEADER: usize = 8 + 8 + 8 + 4;
const TRAILER: usize = 8;

/// Size of the payload `sa-child create PATH TAG` publishes:
/// `make_payload(0, TAG, CREATE_PAYLOAD_SIZE)`. Large enough that one
/// racer's write and fsync overlap the others' start.
pub const CREATE_PAYLOAD_SIZE: usize = 256 * 1024;

/// Size of the payload `sa-child hold-writer PATH` writes without a SIZE:
/// `make_payload(0, HOLD_WRITER_TAG, HOLD_WRITER_SIZE)`.
pub const HOLD_WRITER_SIZE: usize = 256 * 1024;

/// Tag of the payload `sa-child hold-writer PATH` writes without a TAG.
pub const HOLD_WRITER_TAG: &str = "held";

/// Exit codes of `sa-child`.
pub mod exit {
    /// The operation succeeded (for `create`: this process published the file).
    pub const OK: i32 = 0;
    /// An unexpected error; the message is on stderr.
    pub const ERROR: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// `create`: the file already existed (and its content was verified).
    pub const EXISTS: i32 = 3;
    /// `create`: the file already existed but is not a complete payload.
    pub const BAD_CONTENT: i32 = 4;
    /// `exclusion`: two processes held the lock at once.
    pub const TWO_HOLDERS: i32 = 5;
}

/// The smallest payload for `tag`: header, tag and trailer, no filler.
pub fn min_payload_len(tag: &str) -> usize {
    HEADER + tag.len() + TRAILER
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Length of the filler's repeating block: a prime, so the block never
/// lines up with pages or write chunks.
const BLOCK: usize = 4093;

/// The filler's repeating block for (`seq`, `tag`): xorshift output seeded
/// from both, so every version has an unrelated block.
fn filler_block(seq: u64, tag: &str) -> Vec<u8> {
    // splitmix64 of the seed, so neighbouring sequence numbers give unrelated
    // streams; never zero, as xorshift requires.
    let mut z = seq ^ fnv1a(tag.as_bytes()).rotate_left(17);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut x = (z ^ (z >> 31)) | 1;
    let mut block = Vec::with_capacity(BLOCK + 8);
    while block.len() < BLOCK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        block.extend_from_slice(&x.to_le_bytes());
    }
    block.truncate(BLOCK);
    block
}

/// Fills `out` with the filler of (`seq`, `tag`): its block, repeated.
/// Whole-slice copies, so it is fast even in an unoptimised test build.
fn fill(out: &mut [u8], seq: u64, tag: &str) {
    let block = filler_block(seq, tag);
    for chunk in out.chunks_mut(BLOCK) {
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}

/// The offset in `filler` of the first byte that is not the filler of
/// (`seq`, `tag`), if any.
fn filler_mismatch(filler: &[u8], seq: u64, tag: &str) -> Option<usize> {
    let block = filler_block(seq, tag);
    filler.chunks(BLOCK).enumerate().find_map(|(i, chunk)| {
        let want = &block[..chunk.len()];
        // Slice equality is a memcmp; look byte by byte only on a mismatch.
        (chunk != want).then(|| {
            i * BLOCK
                + chunk
                    .iter()
                    .zip(want)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0)
        })
    })
}

/// A payload of exactly `size` bytes (or [`min_payload_len`] if that is
/// larger) carrying `seq` and `tag`.
pub fn make_payload(seq: u64, tag: &str, size: usize) -> Vec<u8> {
    let size = size.max(min_payload_len(tag));
    let mut out = vec![0u8; size];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&(size as u64).to_le_bytes());
    out[16..24].copy_from_slice(&seq.to_le_bytes());
    let tag_len = u32::try_from(tag.len()).expect("tag shorter than 4 GiB");
    out[24..28].copy_from_slice(&tag_len.to_le_bytes());
    out[HEADER..HEADER + tag.len()].copy_from_slice(tag.as_bytes());
    let body_end = size - TRAILER;
    fill(&mut out[HEADER + tag.len()..body_end], seq, tag);
    let sum = fnv1a(&out[..HEADER + tag.len()]);
    out[body_end..].copy_from_slice(&sum.to_le_bytes());
    out
}

/// What a valid payload says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadInfo {
    /// The sequence number it was made with.
    pub seq: u64,
    /// The tag it was made with.
    pub tag: String,
    /// Its total length in bytes.
    pub len: usize,
}

/// Why bytes are not one complete payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPayload(pub String);

impl fmt::Display for BadPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad payload: {}", self.0)
    }
}

impl std::error::Error for BadPayload {}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// Checks that `bytes` is exactly one complete payload made by
/// [`make_payload`], and says which.
///
/// # Errors
///
/// [`BadPayload`] naming the first inconsistency: short or empty file, bad
/// magic, a length that disagrees with the header, a filler byte that does
/// not belong to the header's version, or a checksum mismatch.
pub fn verify_payload(bytes: &[u8]) -> Result<PayloadInfo, BadPayload> {
    let bad = |why: String| Err(BadPayload(why));
    if bytes.len() < HEADER + TRAILER {
        return bad(format!("only {} bytes", bytes.len()));
    }
    if &bytes[..8] != MAGIC {
        return bad(format!("magic is {:?}", &bytes[..8]));
    }
    let len = le_u64(&bytes[8..16]);
    if len != bytes.len() as u64 {
        return bad(format!("header says {len} bytes, found {}", bytes.len()));
    }
    let seq = le_u64(&bytes[16..24]);
    let tag_len = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")) as usize;
    if HEADER + tag_len + TRAILER > bytes.len() {
        return bad(format!("tag length {tag_len} does not fit"));
    }
    let Ok(tag) = std::str::from_utf8(&bytes[HEADER..HEADER + tag_len]) else {
        return bad("tag is not UTF-8".into());
    };
    let body_end = bytes.len() - TRAILER;
    let filler = &bytes[HEADER + tag_len..body_end];
    if let Some(at) = filler_mismatch(filler, seq, tag) {
        return bad(format!(
            "filler differs from version seq={seq} tag={tag:?} at byte {}",
            HEADER + tag_len + at
        ));
    }
    let sum = le_u64(&bytes[body_end..]);
    if sum != fnv1a(&bytes[..HEADER + tag_len]) {
        return bad("header checksum mismatch".into());
    }
    Ok(PayloadInfo {
        seq,
        tag: tag.to_owned(),
        len: bytes.len(),
    })
}

/// A child process that is killed (SIGKILL) and reaped when dropped unless
/// it was already waited for, so no test path leaves an orphan.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    status: Option<ExitStatus>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdin and stdout piped and stderr inherited (so a
    /// child's error message shows in the test output).
    pub fn spawn(cmd: &mut Command) -> Self {
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Self {
            child,
            status: None,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Takes the child's stdin (closing it, by dropping it, signals EOF).
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.child
            .stdin
            .take()
            .expect("stdin piped and not yet taken")
    }

    /// Takes the child's stdout.
    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child
            .stdout
            .take()
            .expect("stdout piped and not yet taken")
    }

    /// Sends SIGKILL (if still running) and reaps the child.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        // Fails only if the child was already reaped, which `status` rules out;
        // an already-exited (zombie) child is still killable.
        self.child.kill().expect("SIGKILL child");
        let s = self.child.wait().expect("wait for killed child");
        self.status = Some(s);
        s
    }

    /// Waits for the child to exit on its own, at most `timeout`; panics
    /// (and the drop kills it) if it does not.
    #[track_caller]
    pub fn wait_timeout(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("poll child") {
                self.status = Some(s);
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "child {} still running after {timeout:?}",
                self.child.id()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads a child's stdout line by line on a thread, handing each complete
/// line over a channel. A partial last line (the child died mid-print) is
/// dropped: only what the child finished printing counts.
#[derive(Debug)]
pub struct AckReader {
    rx: mpsc::Receiver<String>,
    thread: Option<JoinHandle<()>>,
}

impl AckReader {
    /// Starts reading `stdout`.
    pub fn new(stdout: ChildStdout) -> Self {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        let Some(complete) = line.strip_suffix('\n') else {
                            return; // died mid-line
                        };
                        if tx.send(complete.to_owned()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self {
            rx,
            thread: Some(thread),
        }
    }

    /// The next line, or `None` if the child closed stdout or `timeout`
    /// passed first.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }

    /// Waits for the next line and asserts it is `expected`.
    #[track_caller]
    pub fn expect_line(&self, expected: &str, timeout: Duration) {
        match self.next_line(timeout) {
            Some(l) => assert_eq!(l, expected, "unexpected line from child"),
            None => panic!("child printed no {expected:?} within {timeout:?}"),
        }
    }

    /// Every line not yet taken, up to the end of the child's output. Call
    /// only once the child is dead (or has closed stdout): it waits for EOF.
    pub fn finish(mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            t.join().expect("stdout reader thread");
        }
        self.rx.try_iter().collect()
    }
}

/// Parses an acknowledgement line of `write-loop`/`stream-loop`: a decimal
/// sequence number.
#[track_caller]
pub fn parse_ack(line: &str) -> u64 {
    line.parse()
        .unwrap_or_else(|_| panic!("child printed {line:?}, not a sequence number"))
}

/// Starts `sa-child store-group-acked PATH THREADS` (`sa_child` is
/// `common::sa_child!()`, which only a test can expand) and reads what it
/// acknowledges: a 4-thread (or `threads`) updater of one store's clones.
pub fn grouped_updater(
    mut sa_child: std::process::Command,
    path: &std::path::Path,
    threads: u64,
) -> (ChildGuard, AckReader) {
    let mut child = ChildGuard::spawn(
        sa_child
            .arg("store-group-acked")
            .arg(path)
            .arg(threads.to_string()),
    );
    let acks = AckReader::new(child.take_stdout());
    (child, acks)
}
