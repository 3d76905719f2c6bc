//! `mrap-auditor eval`: one generic IAM request (DESIGN §7), or a stream of them (`--jsonl`).
//!
//! The stream form is the bulk interface for CI and benchmarks: input and output are buffered,
//! the line buffer is reused, compiled policies are shared between lines that repeat their text
//! ([`StreamReader`]), and a decision is written without building a JSON tree.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use clap::Args;

use super::{Exit, Format, error};
use crate::eval::case::parse_case;
use crate::eval::stream::StreamReader;
use crate::eval::{self as core, render};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  mrap-auditor eval case.json                 # JSON: decision + explanation
  mrap-auditor eval --format text case.json   # the explanation for a human
  mrap-auditor eval --jsonl cases.jsonl       # one case per line, one decision per line

A case is {\"request\": {...}, \"policies\": {...}}; see README \"Evaluating a single request\".
With --jsonl every input line gets exactly one output line, in order: a bad line gets
{\"error\": \"line N: ...\"} and a blank line {\"error\": \"empty line\"}. A case above 1 MiB is refused.
A policy text that repeats from line to line is compiled once (the last 1,024 distinct texts
are kept); the answers are those of evaluating each line alone.
Exit codes: 0 evaluated (every line, with --jsonl), 64 bad input.")]
pub struct EvalArgs {
    /// The case file; `-` or nothing reads standard input.
    #[arg(value_name = "CASE.json|-")]
    input: Option<PathBuf>,
    /// Read one case per line and write one result per line.
    #[arg(long)]
    jsonl: bool,
    /// With --jsonl: write the explanation with each decision.
    #[arg(long)]
    explain: bool,
    /// With --jsonl: compile every policy of every line, as if each line were alone (the
    /// answers are the same; for measuring what the policy cache saves).
    #[arg(long)]
    no_policy_cache: bool,
    /// Output format (single case only).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

fn open(input: &Option<PathBuf>) -> io::Result<Box<dyn Read>> {
    match input {
        None => Ok(Box::new(io::stdin().lock())),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(io::stdin().lock())),
        Some(p) => Ok(Box::new(File::open(p)?)),
    }
}

fn input_name(input: &Option<PathBuf>) -> String {
    match input {
        Some(p) if p.as_os_str() != "-" => p.display().to_string(),
        _ => "<stdin>".to_string(),
    }
}

pub fn run(args: &EvalArgs) -> Exit {
    let reader = match open(&args.input) {
        Ok(r) => r,
        Err(e) => {
            error(format_args!("cannot read `{}`: {e}", input_name(&args.input)));
            return Exit::Usage;
        }
    };
    if args.jsonl { run_stream(reader, args.explain, !args.no_policy_cache) } else { run_one(reader, args) }
}

fn run_one(mut reader: Box<dyn Read>, args: &EvalArgs) -> Exit {
    let mut text = String::new();
    if let Err(e) = reader.read_to_string(&mut text) {
        error(format_args!("cannot read `{}`: {e}", input_name(&args.input)));
        return Exit::Usage;
    }
    if text.trim_start().starts_with('[') {
        error(format_args!(
            "`{}` holds an array: give one case object, or use --jsonl with one case per line",
            input_name(&args.input)
        ));
        return Exit::Usage;
    }
    let case = match parse_case(&text) {
        Ok(c) => c,
        Err(e) => {
            error(format_args!("{}: {e}", input_name(&args.input)));
            return Exit::Usage;
        }
    };
    let evaluation = core::explain(&case.request, &case.policy_set());
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&render::to_json(&evaluation)).unwrap_or_default() + "\n",
        Format::Text => render::to_text(&evaluation, 0),
    };
    match io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => Exit::Ok,
        Err(_) => Exit::Usage,
    }
}

fn run_stream(reader: Box<dyn Read>, explain: bool, cache: bool) -> Exit {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = String::new();
    let mut line_no = 0usize;
    let mut all_ok = true;
    // Policies repeat from line to line: each distinct text is compiled once (bounded cache).
    let mut cases = StreamReader::default();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                error(format_args!("cannot read input: {e}"));
                return Exit::Usage;
            }
        }
        line_no += 1;
        // Every input line gets exactly one output line, a blank one included: skipping it
        // would pair every later answer with the wrong input.
        let parsed = if line.trim().is_empty() {
            None
        } else {
            Some(if cache { cases.parse(&line) } else { parse_case(&line) })
        };
        let written = match parsed {
            None => {
                all_ok = false;
                writeln!(out, "{{\"error\":\"empty line\"}}")
            }
            Some(parsed) => match parsed {
                Ok(case) if explain => {
                    let evaluation = core::explain(&case.request, &case.policy_set());
                    serde_json::to_writer(&mut out, &render::to_json(&evaluation))
                        .map_err(io::Error::other)
                        .and_then(|()| out.write_all(b"\n"))
                }
                Ok(case) => {
                    let decision = core::decide(&case.request, &case.policy_set());
                    writeln!(out, "{{\"decision\":\"{}\"}}", decision.name())
                }
                Err(e) => {
                    all_ok = false;
                    let message = serde_json::Value::String(format!("line {line_no}: {e}"));
                    writeln!(out, "{{\"error\":{message}}}")
                }
            },
        };
        if written.is_err() {
            // stdout closed (e.g. piped into `head`): stop quietly.
            return if all_ok { Exit::Ok } else { Exit::Usage };
        }
    }
    if out.flush().is_err() {
        return Exit::Usage;
    }
    if all_ok { Exit::Ok } else { Exit::Usage }
}
