//! What the integration tests (and the daemon benchmark) share: temporary copies of the bundled
//! example, the real daemon started and reaped, a minimal HTTP client, metric samples.
//! Each test crate uses part of it.

#![allow(dead_code, reason = "each test crate uses a different part")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "test support")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const APP: &str = "app-reads-reports";
pub const B1: &str = "doc-examplebucket1";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary copy of the bundled example (config, policies, snapshot).
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("config"), dir.path());
    dir
}

/// A temporary copy of the bundled example for the daemon: `interval`, no jitter, a port of its
/// own, the history inside the copy; `extra` is appended to the configuration.
pub fn daemon_example(interval: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = example_copy();
    let config = dir.path().join("mrap-auditor.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("interval = \"5m\"", &format!("interval = \"{interval}\"\njitter = 0.0"))
        .replace("listen = \"127.0.0.1:9898\"", "listen = \"127.0.0.1:0\"")
        .replace("state = \"../state/mrap-auditor.db\"", "state = \"state/history.db\"");
    std::fs::write(&config, format!("{text}{extra}")).unwrap();
    (dir, config)
}

/// Bucket 1's policy with (`fixed`) or without the `/*` the seed forgot; written then renamed,
/// as a capture would, so that a running daemon never reads half a file.
pub fn set_bucket1_policy(dir: &Path, fixed: bool) {
    let rel = "snapshots/example/s3/get-bucket-policy/doc-examplebucket1.json";
    let seed = std::fs::read_to_string(root().join("config").join(rel)).unwrap();
    let body = if fixed { seed.replace(r#"doc-examplebucket1\"]"#, r#"doc-examplebucket1/*\"]"#) } else { seed };
    let file = dir.join(rel);
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, body).unwrap();
    std::fs::rename(tmp, file).unwrap();
}

/// The real daemon; killed and reaped when dropped, whatever happens.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
    /// Every stderr log line (JSON), in order.
    pub logs: mpsc::Receiver<String>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `mrap-auditor run` and waits for its `Listening.` log line.
    pub fn start(config: &Path, extra_args: &[&str]) -> Daemon {
        Daemon::start_with(config, extra_args, false)
    }

    /// Starts it with AWS credentials from the environment only (see `auditor_hermetic_aws`).
    pub fn start_hermetic_aws(config: &Path, extra_args: &[&str]) -> Daemon {
        Daemon::start_with(config, extra_args, true)
    }

    fn start_with(config: &Path, extra_args: &[&str], hermetic: bool) -> Daemon {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"));
        if hermetic {
            hermetic_aws(&mut command);
        }
        let child = command
            .args(["run", "--log-format", "json"])
            .args(extra_args)
            .arg("--config")
            .arg(config)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let mut daemon = Daemon { child, port: 0, logs: rx };
        let stderr = daemon.child.stderr.take();
        std::thread::spawn(move || {
            let Some(stderr) = stderr else { return };
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Keep draining when nobody listens, so that the daemon never blocks on the pipe.
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            let Ok(line) = daemon.logs.recv_timeout(Duration::from_millis(200)) else { continue };
            seen.push(line.clone());
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "Listening." {
                let address = v["fields"]["address"].as_str().unwrap();
                daemon.port = address.rsplit(':').next().unwrap().parse().unwrap();
                return daemon;
            }
        }
        panic!("the daemon did not start listening:\n{}", seen.join("\n"));
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path)
    }

    pub fn metrics(&self) -> String {
        self.get("/metrics").1
    }

    pub fn signal(&self, signal: &str) {
        kill(self.child.id(), signal);
    }

    /// SIGTERM, then waits (at most 10 s) for the exit: its code and how long it took.
    pub fn stop(mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        self.signal("TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.code(), started.elapsed());
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the daemon did not exit within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

pub fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// One HTTP/1.1 request; `(0, "")` when the connection fails.
pub fn http(port: u16, method: &str, path: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let request =
        format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
    (status, dechunk(head, body))
}

fn dechunk(head: &str, body: &str) -> String {
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// The value of the metric sample of `name` whose labels include these, if present.
pub fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        if n != name {
            return None;
        }
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        all.then(|| value.parse().ok()).flatten()
    })
}

/// The sum of every sample of `name` (all label sets).
pub fn sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
}

/// `mrap-auditor ARGS` with AWS credentials from the environment only (dummy keys; nothing from
/// this machine's profile, instance metadata or endpoint settings), run from the project root.
pub fn auditor_hermetic_aws(args: &[&str], extra_env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"));
    hermetic_aws(&mut command);
    command.args(args).current_dir(root()).envs(extra_env.iter().copied()).output().unwrap()
}

/// Dummy AWS credentials from the environment, and nothing from this machine's profile,
/// instance metadata or endpoint settings.
pub fn hermetic_aws(command: &mut Command) {
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");
}

/// A fake Alertmanager that records every `POST /api/v2/alerts` body.
pub fn fake_alertmanager() -> (u16, mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap_or(0);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if request_line.starts_with("POST /api/v2/alerts") {
                let _ = tx.send(String::from_utf8_lossy(&body).to_string());
            }
        }
    });
    (port, rx)
}
