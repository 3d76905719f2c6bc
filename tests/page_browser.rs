//! The status page in a real browser: the daemon runs on a copy of the bundled example and
//! Debian's `chromium` (installed by `scripts/install-chromium.sh`) loads `/`,
//! `/expectations/NAME` and `/access` headless. `--dump-dom` gives the DOM after parsing (what a
//! person's browser builds, not the bytes we sent); `--screenshot` gives the pixels, kept under
//! `target/page-artifacts/` and checked to be non-blank. In CI (CI set) a missing browser fails
//! the tests rather than skipping them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]
// It runs the daemon (`mrap-auditor run`).
#![cfg(feature = "runtime")]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{APP, B1, Daemon, daemon_example, wait_for};

const B2: &str = "doc-examplebucket2";

/// The browser, or `None` outside CI when it is not installed.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = support::which("chromium") {
        return Some(p);
    }
    assert!(std::env::var_os("CI").is_none(), "chromium is missing: scripts/install-chromium.sh installs it");
    eprintln!("chromium is not installed (scripts/install-chromium.sh); skipping outside CI");
    None
}

/// Runs headless Chromium with a fresh profile and the flags this closed network needs; kills it
/// after 90 s.
fn browser(chromium: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

fn dump_dom(chromium: &Path, url: &str) -> String {
    let dom = browser(chromium, &["--dump-dom".into(), url.into()]);
    assert!(dom.contains("</html>"), "no DOM for {url}: {dom}");
    dom
}

/// Takes a screenshot into `target/page-artifacts/NAME` and checks it is not blank: decoded,
/// its pixels vary (a blank or single-colour page has no variance) and several colours occur.
fn screenshot(chromium: &Path, url: &str, name: &str, size: &str) -> PathBuf {
    let dir = support::root().join("target/page-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    let _ = std::fs::remove_file(&file);
    browser(chromium, &[format!("--screenshot={}", file.display()), format!("--window-size={size}"), url.into()]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&file).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let luma: Vec<f64> =
        bytes.chunks(channels).map(|p| p.iter().take(3).map(|&c| f64::from(c)).sum::<f64>() / 3.0).collect();
    let mean = luma.iter().sum::<f64>() / luma.len() as f64;
    let variance = luma.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / luma.len() as f64;
    let colours: std::collections::HashSet<&[u8]> = bytes.chunks(channels).collect();
    assert!(variance > 100.0, "{name} looks blank: luma variance {variance:.1}");
    assert!(colours.len() > 50, "{name} has only {} colours", colours.len());
    file
}

/// The attributes of every element `<TAG class="CLASS…"…>` in `dom`.
fn elements(dom: &str, tag: &str, class: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{tag} ");
    let attr = regex::Regex::new(r#"([a-zA-Z-]+)="([^"]*)""#).unwrap();
    dom.match_indices(&open)
        .filter_map(|(i, _)| {
            let end = dom[i..].find('>')? + i;
            let attrs: BTreeMap<String, String> =
                attr.captures_iter(&dom[i..end]).map(|c| (c[1].to_string(), c[2].to_string())).collect();
            attrs.get("class").is_some_and(|c| c.split(' ').any(|w| w == class)).then_some(attrs)
        })
        .collect()
}

fn start(extra: &str) -> (tempfile::TempDir, Daemon) {
    let (dir, config) = daemon_example("1h", extra);
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);
    (dir, daemon)
}

#[test]
fn status_page_draws_the_path_with_the_failing_bucket_at_the_bucket_layer() {
    let Some(chromium) = chromium() else { return };
    let (_dir, daemon) = start("");
    let url = format!("http://127.0.0.1:{}/", daemon.port);
    let dom = dump_dom(&chromium, &url);

    // One SVG per MRAP, coloured by its most urgent expectation (the violated one).
    let svgs = elements(&dom, "svg", "path");
    assert_eq!(svgs.len(), 1, "{dom}");
    assert_eq!(svgs[0]["data-mrap"], "mfzwi23gnjvgw.mrap");
    assert_eq!(svgs[0]["data-expectation"], APP);

    // One node per bucket carrying its decision; the seed's failing bucket at the bucket layer.
    let buckets = elements(&dom, "g", "bucket");
    assert_eq!(buckets.len(), 2, "{buckets:?}");
    let by_name: BTreeMap<&str, &BTreeMap<String, String>> =
        buckets.iter().map(|b| (b["data-bucket"].as_str(), b)).collect();
    assert_eq!(by_name[B1]["data-decision"], "implicit_deny");
    assert_eq!(by_name[B1]["data-layer"], "bucket");
    assert_eq!(by_name[B1]["data-route"], "active");
    assert_eq!(by_name[B2]["data-decision"], "allow");
    assert!(!by_name[B2].contains_key("data-layer"));

    // The failing edge carries the layer badge; the entry edge passes; the endpoint is drawn.
    let edges = elements(&dom, "g", "edge");
    let to_b1 = edges.iter().find(|e| e["data-to"] == B1).unwrap();
    assert_eq!(to_b1["data-decision"], "implicit_deny");
    assert_eq!(to_b1["data-layer"], "bucket");
    let badges = elements(&dom, "g", "badge");
    assert_eq!(badges.len(), 1, "only the failing edge is badged: {badges:?}");
    assert_eq!(badges[0]["data-layer"], "bucket");
    let entry = edges.iter().find(|e| e["data-from"] == "vpce-0a1b2c3d4e5f60718").unwrap();
    assert_eq!(entry["data-decision"], "allow");
    // The statement is named in a tooltip, and the text says what the colour says.
    assert!(dom.contains("statement 0 (Public-read) of bucket policy of doc-examplebucket1"), "{dom}");
    assert!(dom.contains("✕ implicit deny at bucket (active)"), "{dom}");

    // The direct doors of the access map are drawn below the buckets: the seed's public bucket
    // policies open `bucket:internet` to anonymous callers.
    let doors = elements(&dom, "g", "door");
    assert!(
        doors
            .iter()
            .any(|d| d["data-bucket"] == B2 && d["data-path"] == "bucket:internet" && d["data-door"] == "public"),
        "{doors:?}"
    );

    // Keyboard: each bucket is a link (focusable) to its explanation on the expectation page.
    for b in [B1, B2] {
        assert!(
            dom.contains(&format!(r#"<a href="/expectations/{APP}#bucket-{b}" aria-label="bucket {b}: "#)),
            "{dom}"
        );
    }

    // Freshness at a glance, and the refresh.
    assert!(dom.contains(r#"<meta http-equiv="refresh" content="30">"#), "{dom}");
    let state =
        elements(&dom, "span", "pill").into_iter().find(|p| p.get("id").is_some_and(|i| i == "source-state")).unwrap();
    assert_eq!(state["data-state"], "ok");
    assert!(dom.contains("id=\"cycle-duration\""), "{dom}");
    assert!(dom.contains("id=\"report-age\""), "{dom}");

    // The other expectation can be chosen; then the structural failure is on the entry edge.
    let dom = dump_dom(&chromium, &format!("{url}?expect=anonymous-cannot-read"));
    let edges = elements(&dom, "g", "edge");
    let entry = edges.iter().find(|e| e["data-from"] == "vpce-0a1b2c3d4e5f60718").unwrap();
    assert_eq!(entry["data-decision"], "explicit_deny");
    assert_eq!(entry["data-layer"], "structural");
    assert!(
        edges.iter().filter(|e| e["data-from"] == "mfzwi23gnjvgw.mrap").all(|e| e["data-decision"] == "not_reached")
    );
    for b in elements(&dom, "g", "bucket") {
        assert_eq!(b["data-decision"], "explicit_deny");
        assert_eq!(b["data-layer"], "structural");
    }

    // Pixels: the wide page and the phone layout, kept as test artifacts.
    screenshot(&chromium, &url, "status.png", "1200,1500");
    screenshot(&chromium, &url, "status-phone.png", "390,1600");
}

#[test]
fn expectation_page_has_picture_explanations_timeline_and_command() {
    let Some(chromium) = chromium() else { return };
    let (_dir, daemon) = start("");
    let url = format!("http://127.0.0.1:{}/expectations/{APP}", daemon.port);
    let dom = dump_dom(&chromium, &url);
    let buckets = elements(&dom, "g", "bucket");
    assert_eq!(buckets.len(), 2);
    // The explain text per bucket, as `explain` prints it.
    assert!(dom.contains("bucket request on arn:aws:s3:::doc-examplebucket1/reports/2026/summary.csv"), "{dom}");
    assert!(dom.contains(r#"<details id="bucket-doc-examplebucket1" open="">"#), "{dom}");
    // The timeline strip from the history: first seen intermittent.
    let spans = elements(&dom, "g", "span");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0]["data-verdict"], "intermittent");
    // The command that reproduces it.
    let command = regex::Regex::new(r#"<pre id="command"><code>([^<]*)</code>"#).unwrap();
    let command = command.captures(&dom).unwrap()[1].to_string();
    assert!(
        command.starts_with("mrap-auditor explain --config ") && command.ends_with("--expect app-reads-reports"),
        "{command}"
    );
    screenshot(&chromium, &url, "expectation.png", "1200,2400");

    // It works: run it.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor")).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("bucket request on arn:aws:s3:::doc-examplebucket1/reports/2026/summary.csv")
    );

    // An unknown name is a 404 page, not a crash.
    let (status, body) = daemon.get("/expectations/no-such");
    assert_eq!(status, 404);
    assert!(body.contains("No expectation <code>no-such</code>"), "{body}");
}

#[test]
fn access_page_groups_grants_and_highlights_new_ones() {
    let Some(chromium) = chromium() else { return };
    // The accepted baseline: today's map without bucket 2's grants, so those are new.
    let (dir, config) = daemon_example("1h", "");
    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["access", "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let mut map: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for b in map["mraps"][0]["buckets"].as_array_mut().unwrap() {
        if b["bucket"] == B2 {
            b["grants"] = serde_json::json!([]);
        }
    }
    std::fs::write(dir.path().join("accepted.json"), serde_json::to_string(&map).unwrap()).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n[access]\naccepted = \"accepted.json\"\n")).unwrap();
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);

    let url = format!("http://127.0.0.1:{}/access", daemon.port);
    let dom = dump_dom(&chromium, &url);
    let tables = elements(&dom, "table", "grants");
    assert!(tables.iter().any(|t| t["data-door"] == "bucket:internet"), "{tables:?}");
    // Grouped by bucket, then door; public first; new grants highlighted, only on bucket 2.
    let b1 = dom.find("id=\"access-doc-examplebucket1\"").unwrap();
    let b2 = dom.find("id=\"access-doc-examplebucket2\"").unwrap();
    let (first, second) = if b1 < b2 { (&dom[b1..b2], &dom[b2..]) } else { (&dom[b1..], &dom[b2..b1]) };
    let (section_b1, section_b2) = if b1 < b2 { (first, second) } else { (second, first) };
    assert!(!section_b1.contains("class=\"new\""), "bucket 1's grants are accepted");
    assert!(section_b2.contains("class=\"new\""), "bucket 2's grants are new");
    assert!(section_b2.contains("⚠ PUBLIC"));
    assert!(dom.contains("anonymous s3:GetObject key"), "each grant has its witness: {dom}");
    screenshot(&chromium, &url, "access.png", "1200,1800");
}

#[test]
fn hostile_sid_is_escaped_everywhere() {
    let Some(chromium) = chromium() else { return };
    const HOSTILE: &str = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>&amp;";
    let (dir, config) = daemon_example("1h", "");
    // Both buckets: bucket 1's Sid shows on the failing edge, bucket 2's in the access map.
    for bucket in [B1, B2] {
        let policy = dir.path().join(format!("snapshots/example/s3/get-bucket-policy/{bucket}.json"));
        let text = std::fs::read_to_string(&policy).unwrap();
        assert!(text.contains("Public-read"));
        std::fs::write(&policy, text.replace("Public-read", HOSTILE)).unwrap();
    }
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);
    for path in ["/", &format!("/expectations/{APP}"), "/access"] {
        let (status, raw) = daemon.get(path);
        assert_eq!(status, 200, "{path}");
        assert!(raw.contains("&lt;script&gt;document.title="), "{path}: the Sid is shown, escaped");
        assert!(!raw.contains("<script>") && !raw.contains("<img"), "{path}: raw markup leaked");
        let dom = dump_dom(&chromium, &format!("http://127.0.0.1:{}{path}", daemon.port));
        assert!(!dom.contains("<script") && !dom.contains("<img"), "{path}: the browser built an element from the Sid");
        assert!(!dom.contains("<title>pwned"), "{path}: script ran");
        assert!(dom.contains("&amp;amp;"), "{path}: `&amp;` in a Sid is shown as typed");
    }
}

#[test]
fn timeline_strip_shows_the_verdict_changing() {
    let Some(chromium) = chromium() else { return };
    let (dir, config) = daemon_example("1s", "");
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);
    support::set_bucket1_policy(dir.path(), true);
    wait_for("the verdict change", Duration::from_secs(30), || {
        daemon.get(&format!("/api/v1/history?expect={APP}")).1.contains("verdict_change")
    });
    let dom = dump_dom(&chromium, &format!("http://127.0.0.1:{}/expectations/{APP}", daemon.port));
    let verdicts: Vec<String> = elements(&dom, "g", "span").into_iter().map(|s| s["data-verdict"].clone()).collect();
    assert_eq!(verdicts, ["intermittent", "allow"], "oldest first");
    assert!(!elements(&dom, "g", "tick").is_empty(), "the bucket's decision change is a tick");
    // The fixed bucket now allows: no badge on the picture.
    assert!(elements(&dom, "g", "badge").is_empty());
    assert!(elements(&dom, "g", "bucket").iter().all(|b| b["data-decision"] == "allow"));
}

#[test]
fn unreadable_input_shows_degraded_and_unknown() {
    // The HTML as sent (no browser needed): the state pill and the unknown bucket.
    let (dir, config) = daemon_example("1h", "");
    std::fs::remove_file(dir.path().join("snapshots/example/s3/get-bucket-policy/doc-examplebucket1.json")).unwrap();
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);
    let (status, body) = daemon.get("/");
    assert_eq!(status, 200);
    assert!(body.contains(r#"id="source-state" data-state="degraded""#), "{body}");
    let buckets = elements(&body, "g", "bucket");
    let b1 = buckets.iter().find(|b| b["data-bucket"] == B1).unwrap();
    assert_eq!(b1["data-decision"], "unknown", "never allow or deny on what could not be read");
}

#[test]
fn refresh_is_configurable() {
    let (_dir, config) = daemon_example("1h", "");
    let text = std::fs::read_to_string(&config).unwrap().replace("jitter = 0.0", "jitter = 0.0\nrefresh = \"7s\"");
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start(&config, &[]);
    wait_for("the first cycle", Duration::from_secs(30), || daemon.get("/readyz").0 == 200);
    for path in ["/", "/access", &format!("/expectations/{APP}")] {
        let body = daemon.get(path).1;
        assert!(body.contains(r#"<meta http-equiv="refresh" content="7">"#), "{path}: {body}");
    }
    // A bad value is a configuration error naming the key.
    let (_d, bad) = daemon_example("1h", "");
    let text = std::fs::read_to_string(&bad).unwrap().replace("jitter = 0.0", "jitter = 0.0\nrefresh = \"soon\"");
    std::fs::write(&bad, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor")).args(["check", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("daemon.refresh"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
