//! The deployment files under deploy/, checked as operators use them: the Prometheus rules with
//! promtool (syntax and unit tests) and against a real Prometheus scraping the real daemon (and a
//! real Alertmanager receiving its push), the Grafana dashboard's queries, the Kubernetes
//! manifests, the Dockerfile and the systemd unit.
//!
//! Left out: building or running the container image (no container engine on the test machines:
//! the Dockerfile is checked statically, and its HEALTHCHECK command runs against the real
//! daemon) and running the unit under systemd (no systemd as PID 1: `systemd-analyze verify` and
//! `security` check it). A tool these tests need is installed by scripts/install-test-tools.sh;
//! when one is missing the test fails in CI (`CI` set) and is skipped, loudly, elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]
// The daemon's deployment needs the daemon.
#![cfg(feature = "runtime")]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{APP, B1, Daemon, copy_dir, http, root, set_bucket1_policy, wait_for, which};

// ---------------------------------------------------------------- files and tools

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

const RULES: &str = "deploy/prometheus/mrap-auditor.rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/mrap-auditor.rules.test.yml";
const DASHBOARD: &str = "deploy/grafana/mrap-auditor.json";
const K8S: &str = "deploy/kubernetes";
const DOCKERFILE: &str = "deploy/Dockerfile";
const UNIT: &str = "deploy/systemd/mrap-auditor.service";

/// The tool, or `None` (and a loud skip) outside CI; in CI a missing tool fails the test.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = which(name);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{name}` is missing in CI: scripts/install-test-tools.sh installs the Debian package `{package}`"
        );
        eprintln!("SKIPPED: `{name}` is not installed (Debian package `{package}`; scripts/install-test-tools.sh)");
    }
    found
}

/// Runs a command; panics with its output unless it succeeds. Returns stdout and stderr.
fn run_ok(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{stdout}{stderr}", out.status);
    (stdout, stderr)
}

// ---------------------------------------------------------------- what the daemon exports

/// Every metric family the daemon exports, from the one place they are declared
/// (src/export/metrics.rs), with the series names a histogram adds.
fn exported_metrics() -> BTreeSet<String> {
    use mrap_auditor::export::metrics::{DEFINITIONS, Kind};
    let mut names = BTreeSet::new();
    for d in DEFINITIONS {
        let name = d.full_name();
        if d.kind == Kind::Histogram {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
        names.insert(name);
    }
    assert!(names.contains("mrap_auditor_expectation_holds"), "{names:?}");
    names
}

/// The alert names the daemon pushes to Alertmanager itself (src/export/alerts.rs).
fn pushed_alert_names() -> BTreeSet<String> {
    let source = read("src/export/alerts.rs");
    let re = regex::Regex::new(r#""(MrapAuditor[A-Za-z]+)""#).unwrap();
    let names: BTreeSet<String> = re.captures_iter(&source).map(|c| c[1].to_string()).collect();
    assert!(names.len() >= 4, "{names:?}");
    names
}

/// The metric names a PromQL expression selects (not functions, keywords, labels or durations).
fn metric_names(expr: &str) -> Vec<String> {
    // Aggregations, set and binary operators, literals: words that are not metric names.
    const WORDS: &str = "sum min max avg count stddev stdvar topk bottomk quantile count_values group \
                         and or unless bool offset inf nan";
    const LABEL_LISTS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];
    let chars: Vec<char> = expr.chars().collect();
    let skip_to = |mut i: usize, open: char, close: char| {
        // From `open` at i to just past its matching `close`, skipping quoted text.
        let mut depth = 0;
        let mut quote: Option<char> = None;
        while i < chars.len() {
            let c = chars[i];
            match quote {
                Some(_) if c == '\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                None => {}
            }
            i += 1;
        }
        i
    };
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            i = skip_to(i, '{', '}');
        } else if c == '[' {
            i = skip_to(i, '[', ']');
        } else if c == '"' || c == '\'' || c == '`' {
            i = skip_to(i, c, c);
        } else if c == '$' || c.is_ascii_digit() || c == '.' {
            // A dashboard variable, a number or a duration.
            i += 1;
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let before_paren = chars.get(next) == Some(&'(');
            if LABEL_LISTS.contains(&word.as_str()) {
                if before_paren {
                    i = skip_to(next, '(', ')');
                }
            } else if !before_paren && !WORDS.split_whitespace().any(|w| w == word) {
                names.push(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn metric_names_are_extracted_from_promql() {
    let cases: &[(&str, &[&str])] = &[
        ("up{job=\"a\"} == 0 or absent(up{job=\"a\"})", &["up", "up"]),
        (
            "min by (expectation, mrap) (mrap_auditor_expectation_holds{route=\"active\"}) == 0",
            &["mrap_auditor_expectation_holds"],
        ),
        ("histogram_quantile(0.95, sum by (le) (rate(m_bucket{a=~\"$x\"}[$__rate_interval])))", &["m_bucket"]),
        ("(a == 1) unless on (e, m) (b:rec offset 5m) or vector(0)", &["a", "b:rec"]),
        ("-1 * (x == 1) and time() - y > 900", &["x", "y"]),
        ("count(z{l=\"}\"}) or vector(0)", &["z"]),
    ];
    for (expr, want) in cases {
        assert_eq!(metric_names(expr), *want, "{expr}");
    }
}

// ---------------------------------------------------------------- Prometheus rules

/// Every rule of the rules file: (group name, rule object).
fn rules() -> Vec<(String, Value)> {
    let file = yaml(RULES);
    let mut out = Vec::new();
    for g in file["groups"].as_array().expect("groups") {
        for r in g["rules"].as_array().expect("rules") {
            out.push((g["name"].as_str().unwrap().to_string(), r.clone()));
        }
    }
    out
}

fn recorded_names() -> BTreeSet<String> {
    rules().iter().filter_map(|(_, r)| r["record"].as_str().map(str::to_string)).collect()
}

/// The job name `up{job="..."}` selects in the rules: the one every shipped scrape config must use.
fn rules_job() -> String {
    let re = regex::Regex::new(r#"up\{job="([^"]+)"\}"#).unwrap();
    let jobs: BTreeSet<String> = rules()
        .iter()
        .filter_map(|(_, r)| r["expr"].as_str())
        .flat_map(|e| re.captures_iter(e).map(|c| c[1].to_string()).collect::<Vec<_>>())
        .collect();
    assert_eq!(jobs.len(), 1, "one job name for `up` in the rules: {jobs:?}");
    jobs.into_iter().next().unwrap()
}

#[test]
fn rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = tool("promtool", "prometheus") else { return };
    let (out, _) = run_ok(Command::new(&promtool).args(["check", "rules"]).arg(root().join(RULES)));
    assert!(out.contains("SUCCESS"), "{out}");
    let (out, _) = run_ok(Command::new(&promtool).args(["test", "rules"]).arg(root().join(RULE_TESTS)));
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn rules_use_only_the_daemon_metrics_and_name_what_is_wrong() {
    let exported = exported_metrics();
    let recorded = recorded_names();
    let readme = read("README.md");
    let runbook = runbook_anchors(&readme);
    let mut alerts = BTreeSet::new();
    let group_by = regex::Regex::new(r"by \(([^)]*)\)").unwrap();
    for (group, rule) in rules() {
        let expr = rule["expr"].as_str().expect("expr");
        let name = rule["alert"].as_str().or(rule["record"].as_str()).expect("alert or record").to_string();
        for m in metric_names(expr) {
            let ok = exported.contains(&m) || recorded.contains(&m) || m == "up";
            assert!(ok, "{group}/{name}: `{m}` is not a metric the daemon exports");
        }
        let Some(alert) = rule["alert"].as_str() else { continue };
        assert!(alert.starts_with("MrapAuditor"), "{alert}");
        alerts.insert(alert.to_string());
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(["critical", "warning"].contains(&severity), "{alert}: severity `{severity}`");
        let a = &rule["annotations"];
        for key in ["summary", "description", "runbook"] {
            assert!(a[key].as_str().is_some_and(|s| !s.is_empty()), "{alert}: no `{key}` annotation");
        }
        // The runbook link points at this alert's subsection of the README's "Runbook".
        let link = a["runbook"].as_str().unwrap();
        assert_eq!(link, format!("README.md#{}", alert.to_lowercase()), "{alert}");
        assert!(runbook.contains(&alert.to_lowercase()), "README has no `### {alert}` under `## Runbook`");
        // The description names what the alert is about: each label it keeps.
        let description = a["description"].as_str().unwrap();
        let labels: Vec<String> = match group_by.captures(expr) {
            Some(c) => c[1].split(',').map(|l| l.trim().to_string()).collect(),
            None => vec!["instance".to_string()],
        };
        for l in labels {
            assert!(description.contains(&format!("$labels.{l}")), "{alert}: the description does not name `{l}`");
        }
    }
    // The daemon's own alerts have rules of the same name, with the same labels (so that
    // Alertmanager merges the pushed alert and the rule's into one).
    for pushed in pushed_alert_names() {
        assert!(alerts.contains(&pushed), "no rule for the pushed alert {pushed}");
        let rule = rules().into_iter().find(|(_, r)| r["alert"] == pushed.as_str()).unwrap().1;
        let by = group_by.captures(rule["expr"].as_str().unwrap()).map(|c| c[1].to_string()).unwrap_or_default();
        let want = if pushed.contains("Violated") || pushed.contains("Failover") {
            "expectation, mrap, bucket"
        } else {
            "expectation, mrap"
        };
        assert_eq!(by, want, "{pushed}: the labels of the daemon's push");
    }
    for wanted in [
        "MrapAuditorExpectationViolated",
        "MrapAuditorExpectationUnknown",
        "MrapAuditorPendingChange",
        "MrapAuditorFailoverNotReady",
        "MrapAuditorPublicPolicy",
        "MrapAuditorCyclesStalled",
        "MrapAuditorDown",
    ] {
        assert!(alerts.contains(wanted), "no {wanted} rule");
    }
    // Every alert is unit-tested: fired (some exp_alerts non-empty) and silent (some empty).
    let tests = yaml(RULE_TESTS);
    for alert in &alerts {
        let cases: Vec<&Value> = tests["tests"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
            .filter(|c| c["alertname"] == alert.as_str())
            .collect();
        let fired = cases.iter().any(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()));
        let silent = cases.iter().any(|c| c["exp_alerts"].as_array().is_some_and(|a| a.is_empty()));
        assert!(fired && silent, "{alert}: the rule tests must fire it and keep it silent");
    }
}

/// GitHub's anchors of the `###` headings under `## Runbook`.
fn runbook_anchors(readme: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut anchors = BTreeSet::new();
    for line in readme.lines() {
        if let Some(h2) = line.strip_prefix("## ") {
            inside = h2.trim() == "Runbook";
        } else if let Some(h3) = line.strip_prefix("### ")
            && inside
        {
            let slug: String = h3
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            anchors.insert(slug);
        }
    }
    anchors
}

#[test]
fn readme_documents_each_deployment_and_each_alert() {
    let readme = read("README.md");
    let sections: Vec<&str> = readme.lines().filter(|l| l.starts_with("## ") || l.starts_with("### ")).collect();
    let deploying = sections.iter().position(|l| *l == "## Deploying").expect("a `## Deploying` section");
    for sub in ["### Kubernetes", "### systemd", "### Container", "### Prometheus and Grafana"] {
        let at = sections.iter().position(|l| *l == sub).unwrap_or_else(|| panic!("README has no `{sub}`"));
        assert!(at > deploying, "`{sub}` belongs under `## Deploying`");
    }
    // Each runbook entry says what to run.
    let runbook = &readme[readme.find("\n## Runbook").expect("a `## Runbook` section")..];
    for entry in runbook.split("\n### ").skip(1) {
        let title = entry.lines().next().unwrap_or_default();
        assert!(entry.contains("mrap-auditor ") || entry.contains("curl"), "runbook `{title}` says nothing to run");
    }
}

#[test]
fn prometheusrule_holds_exactly_the_rules_files_groups() {
    let rule = yaml(&format!("{K8S}/prometheusrule.yaml"));
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(
        rule["spec"]["groups"],
        yaml(RULES)["groups"],
        "deploy/kubernetes/prometheusrule.yaml is out of date: run scripts/gen-prometheusrule.sh"
    );
}

// ---------------------------------------------------------------- Grafana

/// Every PromQL expression of the dashboard (panels, rows' panels and variables).
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panel: &Value, out: &mut Vec<(String, String)>) {
        let title = panel["title"].as_str().unwrap_or_default().to_string();
        for t in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                title.clone(),
                t["expr"].as_str().unwrap_or_else(|| panic!("{title}: a target without expr")).into(),
            ));
        }
        for p in panel["panels"].as_array().into_iter().flatten() {
            walk(p, out);
        }
    }
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        walk(p, &mut out);
    }
    out
}

/// The expression as Prometheus would get it from Grafana with every variable at "All".
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m").replace("$job", ".*").replace("$mrap", ".*")
}

#[test]
fn grafana_dashboard_is_valid_and_queries_only_the_daemon_metrics() {
    let text = read(DASHBOARD);
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(!dashboard["uid"].as_str().unwrap_or_default().is_empty());
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let datasource = variables.iter().find(|v| v["name"] == "datasource").expect("a `datasource` variable");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");

    // Every panel and query uses the variable, never a fixed data source.
    fn datasources(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if let Some(d) = m.get("datasource") {
                    out.push(d.clone());
                }
                m.values().for_each(|x| datasources(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| datasources(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    datasources(&dashboard["panels"], &mut found);
    for v in &variables[1..] {
        datasources(v, &mut found);
    }
    assert!(found.len() > 20);
    for d in found {
        assert_eq!(d["uid"], "${datasource}", "{d}");
    }

    let allowed: BTreeSet<String> =
        exported_metrics().into_iter().chain(recorded_names()).chain(["up".into()]).collect();
    let exprs = dashboard_exprs(&dashboard);
    let mut used = BTreeSet::new();
    for (title, expr) in &exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{title}: `{expr}` selects no metric");
        for n in names {
            assert!(allowed.contains(&n), "{title}: `{n}` is neither exported by the daemon nor recorded by the rules");
            used.insert(n);
        }
    }
    // What the issue asks the dashboard to show.
    for needed in [
        "mrap_auditor_access_verdict",                    // status per MRAP and bucket
        "mrap_auditor_expectation_holds",                 // status per MRAP and bucket
        "mrap_auditor:expectation_status",                // status over time
        "mrap_auditor_verdict_changes_total",             // verdict changes over time
        "mrap_auditor_pending_change",                    // pending changes
        "mrap_auditor_expectation_unknown",               // unknowns
        "mrap_auditor_findings",                          // findings by severity
        "mrap_auditor:poll_duration_seconds:p95_rate30m", // cycle duration
        "mrap_auditor:last_success_age_seconds",          // last success
    ] {
        assert!(used.contains(needed), "no panel shows `{needed}`");
    }

    // Every query parses as PromQL: as recording rules, through promtool.
    let Some(promtool) = tool("promtool", "prometheus") else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.rules.yml");
    let rules: Vec<Value> = exprs
        .iter()
        .enumerate()
        .map(|(i, (_, e))| serde_json::json!({"record": format!("dashboard:query_{i}"), "expr": substitute(e)}))
        .collect();
    let doc = serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]});
    std::fs::write(&file, serde_norway::to_string(&doc).unwrap()).unwrap();
    run_ok(Command::new(promtool).args(["check", "rules"]).arg(&file));
}

// ---------------------------------------------------------------- Kubernetes

/// Every manifest of deploy/kubernetes, by kind (one object per kind, except the kustomization).
fn manifests() -> BTreeMap<String, Value> {
    let mut by_kind = BTreeMap::new();
    for entry in std::fs::read_dir(root().join(K8S)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.ends_with(".yaml"), "{name}: manifests end in .yaml");
        for doc in serde_norway::Deserializer::from_str(&std::fs::read_to_string(&path).unwrap()) {
            let v: Value = serde::Deserialize::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = v["kind"].as_str().unwrap_or_else(|| panic!("{name}: no kind")).to_string();
            assert!(v["apiVersion"].is_string(), "{name}: no apiVersion");
            if kind != "Kustomization" {
                assert!(v["metadata"]["name"].is_string(), "{name}: no metadata.name");
                assert_eq!(v["metadata"]["labels"]["app.kubernetes.io/name"], "mrap-auditor", "{name}");
            }
            let mut v = v;
            v["_file"] = Value::String(name.clone());
            assert!(by_kind.insert(kind.clone(), v).is_none(), "two {kind} objects");
        }
    }
    by_kind
}

/// The configuration files of a ConfigMap, written to a directory as the pod sees them.
fn configmap_files(cm: &Value, dir: &Path) {
    for (key, value) in cm["data"].as_object().unwrap() {
        std::fs::write(dir.join(key), value.as_str().unwrap()).unwrap();
    }
}

#[test]
fn kubernetes_manifests_parse_and_fit_together() {
    let m = manifests();
    for kind in [
        "Kustomization",
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        assert!(m.contains_key(kind), "no {kind} in deploy/kubernetes");
    }
    // The kustomization applies every file.
    let listed: BTreeSet<&str> =
        m["Kustomization"]["resources"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let files: BTreeSet<&str> =
        m.values().filter(|v| v["kind"] != "Kustomization").map(|v| v["_file"].as_str().unwrap()).collect();
    assert_eq!(listed, files);
    let namespace = m["Kustomization"]["namespace"].as_str().unwrap();
    assert_eq!(m["Namespace"]["metadata"]["name"], namespace);

    // IRSA.
    let sa = &m["ServiceAccount"];
    let role = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str().expect("the IRSA annotation");
    assert!(regex::Regex::new(r"^arn:aws:iam::\d{12}:role/.+$").unwrap().is_match(role), "{role}");

    let d = &m["Deployment"];
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(d["spec"]["replicas"], 1, "one writer of the history");
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate", "a ReadWriteOnce volume");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
    for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v, "the Deployment's selector matches its pods");
    }
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true);
    assert_eq!(psc["runAsUser"].as_u64(), Some(dockerfile_uid()), "the image's user");
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let csc = &c["securityContext"];
    assert_eq!(csc["readOnlyRootFilesystem"], true);
    assert_eq!(csc["allowPrivilegeEscalation"], false);
    assert_eq!(csc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    let port = c["ports"].as_array().unwrap().iter().find(|p| p["name"] == "http").expect("a port named http");
    assert_eq!(port["containerPort"], 9898);
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["resources"]["requests"]["memory"], "32Mi");
    assert_eq!(c["resources"]["limits"]["memory"], "128Mi");

    // Volumes: the ConfigMap at the config's directory, the PVC where the config puts the state,
    // an emptyDir for /tmp (the root filesystem is read-only).
    let args: Vec<&str> = c["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let config_path = Path::new(args[args.iter().position(|a| *a == "--config").unwrap() + 1]);
    let mounts = c["volumeMounts"].as_array().unwrap();
    let volumes = pod["volumes"].as_array().unwrap();
    let volume_at = |dir: &Path| {
        let mount = mounts
            .iter()
            .find(|v| Path::new(v["mountPath"].as_str().unwrap()) == dir)
            .unwrap_or_else(|| panic!("nothing mounted at {}", dir.display()));
        volumes.iter().find(|v| v["name"] == mount["name"]).unwrap().clone()
    };
    assert_eq!(volume_at(config_path.parent().unwrap())["configMap"]["name"], m["ConfigMap"]["metadata"]["name"]);
    assert!(volume_at(Path::new("/tmp"))["emptyDir"].is_object());

    // The ConfigMap's configuration loads as the pod would read it, with the live source.
    let dir = tempfile::tempdir().unwrap();
    configmap_files(&m["ConfigMap"], dir.path());
    let config = mrap_auditor::config::load(&dir.path().join(config_path.file_name().unwrap()))
        .unwrap_or_else(|e| panic!("the ConfigMap's configuration: {e}"));
    assert_eq!(config.source, mrap_auditor::config::SourceConfig::Aws);
    assert_eq!(config.daemon.listen.to_string(), "0.0.0.0:9898");
    assert_eq!(config.daemon.listen.port(), 9898);
    let state_volume = volume_at(config.daemon.state.parent().unwrap());
    assert_eq!(state_volume["persistentVolumeClaim"]["claimName"], m["PersistentVolumeClaim"]["metadata"]["name"]);
    assert!(!config.expectations.is_empty());

    // The Service selects the pods; the ServiceMonitor selects the Service and scrapes its port;
    // the job it produces (the Service's name, without `jobLabel`) is the rules' `up{job=...}`.
    let svc = &m["Service"];
    for (k, v) in svc["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v, "the Service selects the pods");
    }
    let svc_port = &svc["spec"]["ports"][0];
    assert_eq!(svc_port["port"], 9898);
    assert_eq!(svc_port["targetPort"], "http");
    let sm = &m["ServiceMonitor"];
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&svc["metadata"]["labels"][k], v, "the ServiceMonitor selects the Service");
    }
    let endpoint = &sm["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], svc_port["name"]);
    assert_eq!(endpoint["path"], "/metrics");
    assert!(sm["spec"]["jobLabel"].is_null(), "the job is the Service's name");
    assert_eq!(svc["metadata"]["name"].as_str().unwrap(), rules_job());
}

// ---------------------------------------------------------------- Dockerfile

/// The Dockerfile's instructions, continuation lines joined: (INSTRUCTION, arguments).
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read(DOCKERFILE).lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(more) = trimmed.strip_suffix('\\') {
            current.push_str(more);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (instruction, args) = current.split_once(' ').unwrap_or((&current, ""));
        out.push((instruction.to_string(), args.trim().to_string()));
        current.clear();
    }
    assert!(current.is_empty(), "the Dockerfile ends in a continuation line");
    out
}

fn dockerfile_uid() -> u64 {
    let user = dockerfile().into_iter().rev().find(|(i, _)| i == "USER").expect("a USER").1;
    user.split(':').next().unwrap().parse().expect("a numeric USER, so that runAsNonRoot can check it")
}

fn healthcheck_command() -> Vec<String> {
    let (_, args) = dockerfile().into_iter().find(|(i, _)| i == "HEALTHCHECK").expect("a HEALTHCHECK");
    let json = &args[args.find("CMD ").expect("HEALTHCHECK ... CMD") + 4..];
    serde_json::from_str(json).expect("HEALTHCHECK CMD in exec (JSON) form")
}

#[test]
fn dockerfile_is_well_formed_and_runs_the_example_as_non_root() {
    let known = "FROM RUN CMD LABEL EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG ONBUILD STOPSIGNAL \
                 HEALTHCHECK SHELL";
    let instructions = dockerfile();
    for (i, _) in &instructions {
        assert!(known.split_whitespace().any(|k| k == i), "unknown Dockerfile instruction `{i}`");
    }
    assert!(read(DOCKERFILE).starts_with("# syntax=docker/dockerfile:1"), "RUN --mount needs BuildKit's syntax");
    let froms: Vec<usize> = instructions.iter().enumerate().filter(|(_, (i, _))| i == "FROM").map(|(n, _)| n).collect();
    assert!(froms.len() >= 2, "multi-stage");
    assert!(instructions[froms[0]].1.starts_with("rust:") && instructions[froms[0]].1.ends_with(" AS builder"));
    let last = *froms.last().unwrap();
    assert_eq!(instructions[last].1, "debian:bookworm-slim", "a slim runtime with the builder's glibc");
    let runtime = &instructions[last..];
    let user = runtime.iter().rfind(|(i, _)| i == "USER").expect("USER in the runtime stage");
    assert_ne!(dockerfile_uid(), 0, "{user:?}");
    assert!(runtime.iter().any(|(i, a)| i == "COPY" && a.starts_with("--from=builder ")));
    assert!(runtime.iter().any(|(i, a)| i == "EXPOSE" && a == "9898"));
    assert!(healthcheck_command().concat().contains("/healthz"));

    // What COPY takes from the context exists and passes deploy/Dockerfile.dockerignore.
    let ignore = read("deploy/Dockerfile.dockerignore");
    let kept: Vec<&str> = ignore.lines().filter_map(|l| l.strip_prefix('!')).collect();
    let mut copied = BTreeMap::new();
    for (i, args) in &instructions {
        if i != "COPY" || args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        let (dest, sources) = parts.split_last().unwrap();
        for s in sources {
            assert!(root().join(s).exists(), "COPY {s}: no such file in the build context");
            let s = s.trim_end_matches('/').trim_start_matches("./");
            assert!(
                kept.iter().any(|k| s == *k || s.starts_with(&format!("{k}/"))),
                "{s} is excluded by the dockerignore"
            );
            copied.insert(dest.trim_end_matches('/').to_string(), s.to_string());
        }
    }

    // The image's command runs the configuration it ships; that configuration, laid out as in
    // the image, audits the bundled example (exit 1: the seed's violation) with the history on
    // the declared volume.
    let entrypoint: Vec<String> =
        serde_json::from_str(&runtime.iter().find(|(i, _)| i == "ENTRYPOINT").unwrap().1).unwrap();
    assert_eq!(entrypoint, ["/usr/local/bin/mrap-auditor"]);
    let cmd: Vec<String> = serde_json::from_str(&runtime.iter().find(|(i, _)| i == "CMD").unwrap().1).unwrap();
    let config_in_image = &cmd[cmd.iter().position(|a| a == "--config").unwrap() + 1];
    let image = tempfile::tempdir().unwrap();
    let etc = Path::new(config_in_image).parent().unwrap();
    for (dest, source) in &copied {
        let Ok(rel) = Path::new(dest).strip_prefix(etc) else { continue };
        let target = image.path().join(rel);
        if root().join(source).is_dir() {
            copy_dir(&root().join(source), &target);
        } else {
            std::fs::copy(root().join(source), target).unwrap();
        }
    }
    let config_file = image.path().join(Path::new(config_in_image).file_name().unwrap());
    let config = mrap_auditor::config::load(&config_file).unwrap_or_else(|e| panic!("the image's configuration: {e}"));
    assert_eq!(config.daemon.listen.to_string(), "0.0.0.0:9898");
    let volume = runtime.iter().find(|(i, _)| i == "VOLUME").expect("a VOLUME for the history").1.clone();
    let volume: Vec<String> = serde_json::from_str(&volume).unwrap();
    assert_eq!(config.daemon.state.parent().unwrap(), Path::new(&volume[0]));
    let out = Command::new(env!("CARGO_BIN_EXE_mrap-auditor"))
        .args(["check", "--config"])
        .arg(&config_file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("VIOLATED  app-reads-reports"));
}

#[test]
fn dockerfile_healthcheck_command_asks_the_real_daemon() {
    let command = healthcheck_command();
    let (dir, config) = example("", true);
    let d = start(&config);
    wait_for("the first cycle", Duration::from_secs(10), || get(d.port, "/readyz").0 == 200);
    let pointed = |port: u16| -> Vec<String> {
        command.iter().map(|a| a.replace("/dev/tcp/127.0.0.1/9898", &format!("/dev/tcp/127.0.0.1/{port}"))).collect()
    };
    let live = pointed(d.port);
    assert_ne!(live, command, "the command connects to 127.0.0.1:9898");
    let status = Command::new(&live[0]).args(&live[1..]).status().unwrap();
    assert!(status.success(), "HEALTHCHECK against a live daemon: {status}");
    // Nobody listening: unhealthy.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = pointed(closed);
    let status = Command::new(&dead[0]).args(&dead[1..]).stderr(Stdio::null()).status().unwrap();
    assert!(!status.success(), "HEALTHCHECK against a closed port must fail");
    drop(d);
    drop(dir);
}

// ---------------------------------------------------------------- systemd

fn unit_settings() -> Vec<(String, String)> {
    read(UNIT)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("not a setting: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let settings = unit_settings();
    let get = |key: &str| -> Vec<&str> { settings.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect() };
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "mrap-auditor"),
        ("ConfigurationDirectory", "mrap-auditor"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("ExecReload", "kill -HUP $MAINPID"),
        ("RestartPreventExitStatus", "64"),
    ] {
        assert!(get(key).contains(&value), "{UNIT}: expected {key}={value}, found {:?}", get(key));
    }
    // It runs the configuration in its ConfigurationDirectory, which keeps the history in its
    // StateDirectory (the only place it may write).
    let exec = get("ExecStart")[0];
    let config_arg = exec.split_whitespace().skip_while(|a| *a != "--config").nth(1).expect("--config");
    assert!(config_arg.starts_with("/etc/mrap-auditor/"), "{exec}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("deploy/systemd/mrap-auditor.toml"), dir.path().join("mrap-auditor.toml")).unwrap();
    copy_dir(&root().join("config/policies"), &dir.path().join("policies"));
    let config = mrap_auditor::config::load(&dir.path().join("mrap-auditor.toml"))
        .unwrap_or_else(|e| panic!("deploy/systemd/mrap-auditor.toml: {e}"));
    assert!(config.daemon.state.starts_with("/var/lib/mrap-auditor/"), "{}", config.daemon.state.display());
    assert_eq!(Path::new(config_arg).file_name(), config.file.file_name());

    let Some(analyze) = tool("systemd-analyze", "systemd") else { return };
    // `verify` checks that the binary exists: point the copy at the one cargo built.
    let unit = dir.path().join("mrap-auditor.service");
    std::fs::write(&unit, read(UNIT).replace("/usr/local/bin/mrap-auditor", env!("CARGO_BIN_EXE_mrap-auditor")))
        .unwrap();
    let (out, err) = run_ok(Command::new(&analyze).args(["verify", "--man=no"]).arg(&unit));
    assert!(out.trim().is_empty() && err.trim().is_empty(), "systemd-analyze verify complains:\n{out}{err}");
    // Exposure at most 1.5 of 10 ("OK"); the threshold is in tenths.
    let (out, _) = run_ok(Command::new(&analyze).args(["security", "--offline=true", "--threshold=15"]).arg(&unit));
    assert!(out.contains("Overall exposure level"), "{out}");
}

// ---------------------------------------------------------------- the real daemon

/// A process started by a test: killed and reaped whatever happens.
struct Process {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Process {
    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        format!("--- last lines of {} ---\n{}", self.name, tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary copy of the bundled example with a 200 ms interval, on a port of its own; with
/// bucket 1's policy fixed unless `seed_fault`.
fn example(extra: &str, seed_fault: bool) -> (tempfile::TempDir, PathBuf) {
    let (dir, config) = support::daemon_example("200ms", extra);
    if !seed_fault {
        set_bucket1_policy(dir.path(), true);
    }
    (dir, config)
}

fn start(config: &Path) -> Daemon {
    Daemon::start(config, &[])
}

fn get(port: u16, path: &str) -> (u16, String) {
    http(port, "GET", path)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------- a real Prometheus

fn spawn(name: &'static str, program: &Path, args: &[String], dir: &Path) -> Process {
    let log = dir.join(format!("{name}.log"));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    Process { child, name, log }
}

fn prometheus_query(port: u16, query: &str) -> Value {
    let (status, body) = get(port, &format!("/api/v1/query?query={}", urlencode(query)));
    assert_eq!(status, 200, "{query}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{query}: {body}");
    v["data"]["result"].clone()
}

/// Prometheus's alerts (pending and firing) of one name.
fn prometheus_alerts(port: u16, name: &str) -> Vec<Value> {
    let (_, body) = get(port, "/api/v1/alerts");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["alerts"].as_array().into_iter().flatten().filter(|a| a["labels"]["alertname"] == name).cloned().collect()
}

/// The rules file for a test that cannot wait minutes: every `for:` shortened to 2s. It is made
/// from the shipped file each run, so it tests the shipped expressions, labels and annotations.
fn fast_rules() -> String {
    let re = regex::Regex::new(r"(?m)^(\s*)for: \S+$").unwrap();
    let shipped = read(RULES);
    assert!(re.is_match(&shipped));
    format!("# Test-only copy of {RULES}: `for:` shortened to 2s.\n{}", re.replace_all(&shipped, "${1}for: 2s"))
}

#[test]
fn a_real_prometheus_alerts_when_a_bucket_policy_breaks() {
    let started = Instant::now();
    let Some(prometheus) = tool("prometheus", "prometheus") else { return };
    let alertmanager = tool("prometheus-alertmanager", "prometheus-alertmanager");
    let work = tempfile::tempdir().unwrap();

    // A real Alertmanager, if installed, for the daemon's own push.
    let am = alertmanager.map(|bin| {
        let port = free_port();
        std::fs::write(
            work.path().join("alertmanager.yml"),
            "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
        )
        .unwrap();
        let args = vec![
            "--config.file=alertmanager.yml".to_string(),
            "--storage.path=alertmanager-data".to_string(),
            format!("--web.listen-address=127.0.0.1:{port}"),
            // No cluster: it would listen on every interface.
            "--cluster.listen-address=".to_string(),
        ];
        (spawn("alertmanager", &bin, &args, work.path()), port)
    });
    let extra = am.as_ref().map(|(_, port)| format!("\n[alertmanager]\nurl = \"http://127.0.0.1:{port}\"\n"));

    // The daemon, on the example with bucket 1's policy fixed: everything holds.
    let (dir, config) = example(extra.as_deref().unwrap_or(""), false);
    let daemon = start(&config);

    // Prometheus scraping it every second with the shipped rules (for: shortened), under the job
    // name the rules expect.
    let prom_port = free_port();
    std::fs::write(work.path().join("rules.yml"), fast_rules()).unwrap();
    std::fs::write(
        work.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - rules.yml\n\
             scrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
            job = rules_job(),
            port = daemon.port
        ),
    )
    .unwrap();
    let args = vec![
        "--config.file=prometheus.yml".to_string(),
        "--storage.tsdb.path=prometheus-data".to_string(),
        format!("--web.listen-address=127.0.0.1:{prom_port}"),
    ];
    let prom = spawn("prometheus", &prometheus, &args, work.path());
    let logs = || format!("{}\n{}", prom.log(), am.as_ref().map(|(p, _)| p.log()).unwrap_or_default());
    let wait = |what: &str, secs: u64, check: &mut dyn FnMut() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out waiting for {what}\n{}", logs());
    };
    wait("Prometheus to be ready", 20, &mut || get(prom_port, "/-/ready").0 == 200);

    // Healthy: Prometheus has scraped bucket 1 holding, every rule evaluates without error, and
    // neither the violation nor the auditor-down alert is raised.
    let holds = format!("mrap_auditor_expectation_holds{{expectation=\"{APP}\",bucket=\"{B1}\"}}");
    wait("a scrape showing bucket 1 holding", 20, &mut || {
        prometheus_query(prom_port, &holds).get(0).is_some_and(|s| s["value"][1] == "1")
    });
    let expected_rules = rules().len();
    wait("every rule evaluated", 10, &mut || {
        let (_, body) = get(prom_port, "/api/v1/rules");
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let rules: Vec<&Value> =
            v["data"]["groups"].as_array().into_iter().flatten().flat_map(|g| g["rules"].as_array().unwrap()).collect();
        for r in &rules {
            assert_ne!(r["health"], "err", "rule {} fails on real data: {}", r["name"], r["lastError"]);
        }
        rules.len() == expected_rules && rules.iter().all(|r| r["health"] == "ok")
    });
    std::thread::sleep(Duration::from_secs(3)); // a `for:` and more, to let anything wrong fire
    assert_eq!(prometheus_alerts(prom_port, "MrapAuditorExpectationViolated"), Vec::<Value>::new());
    assert_eq!(prometheus_alerts(prom_port, "MrapAuditorDown"), Vec::<Value>::new());
    assert_eq!(prometheus_alerts(prom_port, "MrapAuditorCyclesStalled"), Vec::<Value>::new());
    let status = format!("mrap_auditor:expectation_status{{expectation=\"{APP}\"}}");
    assert_eq!(prometheus_query(prom_port, &status)[0]["value"][1], "1", "the recording rule says it holds");

    // Every dashboard query runs on real data.
    let dashboard: Value = serde_json::from_str(&read(DASHBOARD)).unwrap();
    for (_, expr) in dashboard_exprs(&dashboard) {
        prometheus_query(prom_port, &substitute(&expr));
    }

    // Break bucket 1's policy on disk (the seed's missing `/*`): the violation alert fires on
    // bucket 1, and only there.
    set_bucket1_policy(dir.path(), false);
    wait("MrapAuditorExpectationViolated to fire", 20, &mut || {
        prometheus_alerts(prom_port, "MrapAuditorExpectationViolated").iter().any(|a| a["state"] == "firing")
    });
    let alerts = prometheus_alerts(prom_port, "MrapAuditorExpectationViolated");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let fired = &alerts[0];
    assert_eq!(fired["labels"]["expectation"], APP);
    assert_eq!(fired["labels"]["bucket"], B1);
    assert_eq!(fired["labels"]["mrap"], "mfzwi23gnjvgw.mrap");
    assert_eq!(fired["labels"]["severity"], "critical");
    let description = fired["annotations"]["description"].as_str().unwrap();
    assert!(description.contains(&format!("mrap-auditor explain --expect {APP} --bucket {B1}")), "{description}");
    assert_eq!(prometheus_query(prom_port, &status)[0]["value"][1], "0", "the recording rule says violated");

    // The daemon's own push reaches the real Alertmanager, with the very labels of the rule's
    // alert: one alert there, whichever path delivers it.
    if let Some((_, am_port)) = &am {
        let mut pushed = Value::Null;
        wait("the daemon's push to arrive at Alertmanager", 20, &mut || {
            let (_, body) = get(*am_port, "/api/v2/alerts");
            let v: Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(a) =
                v.as_array().into_iter().flatten().find(|a| {
                    a["labels"]["alertname"] == "MrapAuditorExpectationViolated" && a["labels"]["bucket"] == B1
                })
            {
                pushed = a.clone();
            }
            !pushed.is_null()
        });
        assert_eq!(pushed["labels"], fired["labels"], "the pushed alert and the rule's alert are one in Alertmanager");
        assert_eq!(pushed["status"]["state"], "active");
    }

    // The auditor stops: `up{job=...}` in the rules matches the scrape job, so MrapAuditorDown fires.
    drop(daemon);
    wait("MrapAuditorDown to fire", 20, &mut || {
        prometheus_alerts(prom_port, "MrapAuditorDown").iter().any(|a| a["state"] == "firing")
    });
    drop(prom);
    drop(am);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}
