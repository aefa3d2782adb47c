//! The tables on S3-compatible object storage (`--data s3://bucket/prefix`), against a real
//! S3 server on 127.0.0.1: s3s-fs from crates.io (`.ci/run` installs it; the tests skip
//! with a visible message without it). `collect` records into a local spool and publishes
//! each committed part; every reader then gives over the bucket what it gives over the
//! spool, and a recorder stopped between an upload and its commit publishes each part once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use mdkit::storage::{CRASH_AFTER_UPLOAD, LEDGER};

use crate::common::{files_under, stdout};
use crate::live::Sim;

const BUCKET: &str = "mdkit";
const PREFIX: &str = "rec";
const MARKET: &str = "ETH-USD";

/// A running s3s-fs server over a temporary folder, with one bucket.
pub struct S3 {
    child: Child,
    endpoint: String,
    root: tempfile::TempDir,
}

impl S3 {
    /// Starts s3s-fs on 127.0.0.1 with an OS-assigned port and waits for its address line;
    /// `None` (and a message) when it is not installed.
    pub fn start() -> Option<S3> {
        let Some(bin) = s3s_fs() else {
            let _ = std::io::stderr().write_all(
                b"skipped: s3s-fs not found (cargo install s3s-fs --version 0.14.1 --features binary --locked; .ci/run installs it)\n",
            );
            return None;
        };
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--access-key", "key", "--secret-key"])
            .arg("secret")
            .arg(root.path())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let endpoint = loop {
            let line = lines.next().expect("s3s-fs ended before listening").unwrap();
            if let Some((_, rest)) = line.split_once("server is running at ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading its log so a full pipe never stalls the server.
        std::thread::spawn(move || lines.for_each(drop));
        Some(S3 { child, endpoint, root })
    }

    /// `mdkit --data s3://… --s3-endpoint … <args>` with the server's credentials.
    pub fn mdkit(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mdkit"));
        command
            .args(["--data", &format!("s3://{BUCKET}/{PREFIX}"), "--s3-endpoint", &self.endpoint])
            .env("AWS_ACCESS_KEY_ID", "key")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_REGION", "us-east-1")
            .env_remove("RUST_LOG")
            .env_remove("MDKIT_DATA");
        command
    }

    /// The folder s3s-fs keeps the tree's objects in.
    pub fn tree(&self) -> PathBuf {
        self.root.path().join(BUCKET).join(PREFIX)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$MDKIT_S3S_FS`, else `s3s-fs` on the PATH.
fn s3s_fs() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("MDKIT_S3S_FS") {
        return Some(PathBuf::from(bin));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("s3s-fs")).find(|p| p.is_file())
}

pub fn local(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mdkit"));
    command.arg("--data").arg(data).env_remove("RUST_LOG").env_remove("MDKIT_DATA");
    command
}

pub fn run(mut command: Command, args: &[&str]) -> Output {
    let out = command.args(args).output().expect("run mdkit");
    assert!(
        out.status.success(),
        "mdkit {args:?}: {}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every committed part under `root`, by path relative to it, with its bytes.
fn parts(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let is_part = |name: &str| name.starts_with("part-") && name.ends_with(".parquet");
    let files = files_under(root, &is_part);
    files
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap()))
        .collect()
}

/// `mdkit collect` of the simulator into the bucket through `spool`.
fn collect(s3: &S3, spool: &Path, url: &str, crash: bool) -> Child {
    let mut command = s3.mdkit();
    command
        .arg("--spool")
        .arg(spool)
        .args(["collect", MARKET, "--url", url, "--backoff-min", "10ms", "--backoff-max", "50ms"])
        .args(["--commit-every", "1s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if crash {
        command.env(CRASH_AFTER_UPLOAD, "1");
    }
    command.spawn().expect("start mdkit collect")
}

fn interrupt(mut child: Child) {
    let status = Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status();
    assert!(status.unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "collect: {status}");
}

/// What a reader prints over the bucket and over the spool, the tree's own name aside.
fn same_answer(s3: &S3, spool: &Path, args: &[&str]) -> String {
    let remote = stdout(&run(s3.mdkit(), args));
    let here = stdout(&run(local(spool), args));
    let url = format!("s3://{BUCKET}/{PREFIX}");
    assert_eq!(
        remote.replace(&url, "<tree>"),
        here.replace(&spool.display().to_string(), "<tree>"),
        "{args:?}"
    );
    here
}

#[test]
fn a_recording_published_to_s3_reads_there_as_in_its_spool() {
    let Some(s3) = S3::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, spool) = (dir.path().join("log"), dir.path().join("spool"));
    let mut sim = Sim::start(
        &log,
        &["--speed", "30", "--duration", "10m", "--seed", "21", "--backlog", "80000"],
    );
    let collector = collect(&s3, &spool, &sim.url, false);
    sim.wait();
    interrupt(collector);

    // The bucket holds the spool's parts, byte for byte, and nothing else.
    let here = parts(&spool);
    assert!(here.len() >= 8, "{} parts", here.len());
    assert_eq!(parts(&s3.tree()).keys().collect::<Vec<_>>(), here.keys().collect::<Vec<_>>());
    assert!(parts(&s3.tree()) == here, "a part differs between the bucket and the spool");

    let counts = same_answer(
        &s3,
        &spool,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT (SELECT count(*) FROM depth) AS depth, (SELECT count(*) FROM book_top) AS book_top, \
             (SELECT count(*) FROM trades) AS trades, (SELECT sum(price * qty) FROM trades) AS turnover, \
             (SELECT count(*) FROM events) AS events",
        ],
    );
    assert!(!counts.contains(",0,"), "{counts}");
    same_answer(&s3, &spool, &["verify"]);
    let fit = same_answer(
        &s3,
        &spool,
        &["calibrate", "--market", MARKET, "--window", "5m", "--no-write", "--format", "json"],
    );
    assert!(fit.contains("\"quality_bid\":\"good\""), "{fit}");
    let out = dir.path().join("bt");
    let backtest = |mut command: Command, name: &str| {
        // A short recording: warm-up, window and interval are sized to it.
        let args = ["backtest", "--market", MARKET, "--format", "json", "--out"];
        command.args(args).arg(out.join(name));
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        stdout(&output)
    };
    let remote = backtest(s3.mdkit(), "s3");
    assert!(remote.contains("\"fills\""), "{remote}");
    assert_eq!(
        remote.replace("/s3", "/x"),
        backtest(local(&spool), "local").replace("/local", "/x")
    );

    // calibrate writes its row to the bucket: a part uploaded, readable over s3://.
    run(s3.mdkit(), &["calibrate", "--market", MARKET, "--window", "5m"]);
    let rows = stdout(&run(
        s3.mdkit(),
        &["sql", "--format", "csv", "SELECT count(*) AS n FROM calibration"],
    ));
    assert_eq!(rows.lines().nth(1), Some("1"), "{rows}");
    assert!(!Path::new("s3:").exists(), "a remote path was written as a local folder");
}

#[test]
fn collect_stopped_between_an_upload_and_its_commit_publishes_each_part_once() {
    let Some(s3) = S3::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, spool) = (dir.path().join("log"), dir.path().join("spool"));
    let mut sim = Sim::start(
        &log,
        &["--speed", "30", "--duration", "6m", "--seed", "22", "--backlog", "80000"],
    );

    // The first recorder dies right after its first PUT, before the ledger line.
    let status = collect(&s3, &spool, &sim.url, true).wait().unwrap();
    assert_eq!(status.code(), None, "collect should have died: {status}");
    let first = parts(&s3.tree());
    assert_eq!(first.len(), 1, "{:?}", first.keys());
    let ledgers = files_under(&spool, &|n| n == LEDGER);
    assert!(ledgers.iter().all(|l| std::fs::read_to_string(l).unwrap().is_empty()), "{ledgers:?}");

    // The next run uploads that part again and the rest once.
    let collector = collect(&s3, &spool, &sim.url, false);
    sim.wait();
    interrupt(collector);
    let remote = parts(&s3.tree());
    let here = parts(&spool);
    assert_eq!(remote.keys().collect::<Vec<_>>(), here.keys().collect::<Vec<_>>());
    assert!(remote == here, "a part differs between the bucket and the spool");
    let (name, bytes) = first.iter().next().unwrap();
    assert_eq!(here.get(name), Some(bytes), "the first upload is the committed part");
    // Each part is in its ledger once.
    let mut named = Vec::new();
    for ledger in files_under(&spool, &|n| n == LEDGER) {
        let dir = ledger.parent().unwrap().to_path_buf();
        let text = std::fs::read_to_string(&ledger).unwrap();
        named.extend(text.lines().map(|name| dir.join(name)));
    }
    named.sort();
    let total = named.len();
    named.dedup();
    assert_eq!((named.len(), total), (here.len(), here.len()));
    same_answer(
        &s3,
        &spool,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n, count(DISTINCT trade_id) AS ids FROM trades",
        ],
    );
}

#[test]
fn a_wrong_bucket_prefix_key_or_missing_spool_is_one_line_naming_it() {
    let Some(s3) = S3::start() else { return };
    let fail = |mut command: Command, args: &[&str]| {
        let out = command.args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        err
    };
    // Nothing under the prefix yet.
    let err = fail(s3.mdkit(), &["sql", "SELECT 1"]);
    assert!(err.contains("nothing is stored under s3://mdkit/rec"), "{err}");
    // A wrong secret: the server's own reason.
    let mut wrong = s3.mdkit();
    wrong.env("AWS_SECRET_ACCESS_KEY", "not-it");
    let err = fail(wrong, &["verify"]);
    assert!(
        err.contains("cannot list s3://mdkit/rec") && err.contains("SignatureDoesNotMatch"),
        "{err}"
    );
    // Recording into a bucket needs a local spool.
    let err = fail(s3.mdkit(), &["collect", MARKET, "--url", "ws://127.0.0.1:9"]);
    assert!(err.contains("needs --spool DIR"), "{err}");
    assert!(!Path::new("s3:").exists(), "a remote path was written as a local folder");
}
