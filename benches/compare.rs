//! Wengert and PyTorch eager side by side in one run: the transformer encoder layer step, the digits
//! CNN epoch, the GRU step and W2 (`benches/workloads/models.rs`, `benches/workloads/mod.rs`), each
//! timed alternately — one Wengert step, one PyTorch step, ... — after a warm-up, on 2 threads each,
//! in f32. PyTorch runs in a worker process (`benches/pytorch/compare.py`) started with the Python
//! in `WENGERT_PYTHON` (default `python3`); without a Python that imports torch, Wengert runs alone.
//!
//! ```sh
//! cargo bench -p wengert-benches --bench compare                      # all four, 21 steps each
//! WENGERT_PYTHON=/work/torchenv/bin/python cargo bench -p wengert-benches --bench compare -- \
//!     --steps 31 --only transformer,gru
//! cargo bench -p wengert-benches --bench compare -- --no-torch --only cnn --loop 50   # for perf
//! ```
//!
//! Without `--bench` (which `cargo bench` passes) or `--steps`, as `cargo test --benches` runs it,
//! it runs one Wengert step of each workload and stops. Options: `--steps N` timed steps per
//! workload (default 21), `--warmup N` (default 3; 1 for the CNN's epochs), `--only a,b` (of
//! transformer, cnn, gru, w2), `--no-torch`, `--threads N` (default 2), and `--loop N`: run N
//! Wengert steps of each chosen workload without PyTorch and print the time (a steady loop to
//! profile).

mod workloads;

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use workloads::models::{CnnEpoch, GruStep, Phases, TransformerStep, digits_path};
use workloads::{Mlp, W2, ms};

const NAMES: [&str; 4] = ["transformer", "cnn", "gru", "w2"];

/// The command line.
#[derive(Debug)]
struct Options {
    steps: usize,
    warmup: Option<usize>,
    only: Vec<String>,
    torch: bool,
    threads: usize,
    repeat: Option<usize>,
    /// Run by `cargo bench` (it passes `--bench`) or with `--steps`; otherwise (`cargo test
    /// --benches`) one step of each workload, without PyTorch, checks that they run.
    timed: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        steps: 21,
        warmup: None,
        only: Vec::new(),
        torch: true,
        threads: 2,
        repeat: None,
        timed: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> Result<usize, String> {
            let v = args.next().ok_or_else(|| format!("{what} needs a number"))?;
            v.parse().map_err(|_| format!("{what}: {v:?} is not a number"))
        };
        match arg.as_str() {
            "--bench" => o.timed = true, // cargo bench passes it
            "--steps" => {
                o.steps = number("--steps")?.max(1);
                o.timed = true;
            }
            "--warmup" => o.warmup = Some(number("--warmup")?),
            "--threads" => o.threads = number("--threads")?.max(1),
            "--loop" => o.repeat = Some(number("--loop")?),
            "--no-torch" => o.torch = false,
            "--only" => {
                let list = args.next().ok_or("--only needs a list")?;
                for name in list.split(',') {
                    if !NAMES.contains(&name) {
                        return Err(format!("--only: unknown workload {name:?} (expected {NAMES:?})"));
                    }
                    o.only.push(name.to_string());
                }
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.only.is_empty() {
        o.only = NAMES.iter().map(|s| s.to_string()).collect();
    }
    Ok(o)
}

/// A Wengert workload: one step (one epoch for the CNN), with its phases where they are split.
enum Workload {
    Transformer(TransformerStep),
    Cnn(CnnEpoch),
    Gru(GruStep),
    W2(Mlp),
}

impl Workload {
    fn new(name: &str) -> Result<Workload, Box<dyn Error>> {
        Ok(match name {
            "transformer" => Workload::Transformer(TransformerStep::new()),
            "cnn" => Workload::Cnn(CnnEpoch::new(&digits_path())?),
            "gru" => Workload::Gru(GruStep::new()),
            "w2" => Workload::W2(Mlp::new(W2)),
            _ => unreachable!("names are checked when parsed"),
        })
    }

    /// One step: the whole step's time and its phases (zero for W2, which is not split).
    fn step(&mut self) -> (Duration, Phases) {
        let start = Instant::now();
        let phases = match self {
            Workload::Transformer(w) => w.step().1,
            Workload::Cnn(w) => w.epoch().1,
            Workload::Gru(w) => w.step().1,
            Workload::W2(w) => {
                std::hint::black_box(w.step());
                Phases::default()
            }
        };
        (start.elapsed(), phases)
    }
}

/// The PyTorch worker process.
struct Torch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    version: String,
}

impl Torch {
    /// Starts `compare.py --worker`; `Err` says why PyTorch is not available.
    fn start(threads: usize) -> Result<Torch, String> {
        let python = std::env::var("WENGERT_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/pytorch/compare.py");
        let mut child = Command::new(&python)
            .args([script, "--worker", "--threads", &threads.to_string()])
            .arg("--digits")
            .arg(digits_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {python}: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        if !line.starts_with("ready ") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{python} could not import torch (set WENGERT_PYTHON to a Python with torch)"
            ));
        }
        Ok(Torch { child, stdin, stdout, version: line["ready ".len()..].trim().to_string() })
    }

    /// One PyTorch step of `name`: its whole time and its phases.
    fn step(&mut self, name: &str) -> Result<(Duration, Phases), String> {
        writeln!(self.stdin, "{name}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("torch worker: {e}"))?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| format!("torch worker: {e}"))?;
        let t: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        if t.len() != 4 {
            return Err(format!("torch worker stopped or answered {line:?} for {name}"));
        }
        let d = Duration::from_secs_f64;
        Ok((d(t[0]), Phases { forward: d(t[1]), backward: d(t[2]), optimizer: d(t[3]) }))
    }
}

impl Drop for Torch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The medians of the steps' totals and phases, in ms.
fn medians(times: &[(Duration, Phases)]) -> [f64; 4] {
    let median = |f: &dyn Fn(&(Duration, Phases)) -> Duration| {
        let mut v: Vec<Duration> = times.iter().map(f).collect();
        v.sort();
        ms(v[v.len() / 2])
    };
    [median(&|t| t.0), median(&|t| t.1.forward), median(&|t| t.1.backward), median(&|t| t.1.optimizer)]
}

fn phases_text(m: &[f64; 4]) -> String {
    if m[1] + m[2] + m[3] == 0.0 {
        return String::from("(not split)");
    }
    format!("fwd {:.2} / bwd {:.2} / opt {:.2}", m[1], m[2], m[3])
}

/// Runs the chosen mode inside a rayon pool of `o.threads` threads, so that the steps run on one of
/// its workers: a profile of `--loop` then sees every kernel below the layer and phase that called
/// it (all of them on 1 thread; on more, the jobs other workers steal have only their own frames).
fn run(o: &Options) -> Result<(), Box<dyn Error>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(o.threads).build()?;
    pool.install(|| run_in_pool(o).map_err(|e| e.to_string()))?;
    Ok(())
}

fn run_in_pool(o: &Options) -> Result<(), Box<dyn Error>> {
    if o.repeat.is_none() && !o.timed {
        for name in &o.only {
            let (t, _) = Workload::new(name)?.step();
            println!("{name}: one Wengert step in {:.1} ms (cargo bench times them)", ms(t));
        }
        return Ok(());
    }
    if let Some(n) = o.repeat {
        for name in &o.only {
            let mut w = Workload::new(name)?;
            w.step();
            let start = Instant::now();
            for _ in 0..n {
                w.step();
            }
            println!("{name}: {n} Wengert steps in {:.3} s", start.elapsed().as_secs_f64());
        }
        return Ok(());
    }
    let mut torch = if o.torch {
        Torch::start(o.threads).map_err(|why| println!("PyTorch: not run, {why}")).ok()
    } else {
        None
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} threads, f32, medians of {} steps after warm-up, alternating; load average {}",
        o.threads,
        o.steps,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    if let Some(t) = &torch {
        println!("PyTorch: {}", t.version);
    }
    println!(
        "{:<12} {:>10} {:>10} {:>7}  phases (ms, Wengert | PyTorch)",
        "workload", "Wengert ms", "PyTorch ms", "ratio"
    );
    for name in &o.only {
        let mut w = Workload::new(name)?;
        let warmup = o.warmup.unwrap_or(if name == "cnn" { 1 } else { 3 });
        for _ in 0..warmup {
            w.step();
            if let Some(t) = &mut torch {
                t.step(name)?;
            }
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..o.steps {
            ours.push(w.step());
            if let Some(t) = &mut torch {
                theirs.push(t.step(name)?);
            }
        }
        let a = medians(&ours);
        if theirs.is_empty() {
            println!("{name:<12} {:>10.3} {:>10} {:>7}  {}", a[0], "-", "-", phases_text(&a));
        } else {
            let b = medians(&theirs);
            println!(
                "{name:<12} {:>10.3} {:>10.3} {:>7.3}  {} | {}",
                a[0],
                b[0],
                a[0] / b[0],
                phases_text(&a),
                phases_text(&b)
            );
        }
    }
    Ok(())
}

fn main() {
    let o = options().unwrap_or_else(|e| {
        eprintln!("compare: {e}");
        std::process::exit(2);
    });
    if let Err(e) = run(&o) {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}
