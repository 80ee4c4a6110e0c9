//! Timing helpers: percentiles over samples, a tiny deterministic PRNG, and the results table.

use std::time::{Duration, Instant};

/// Percentile summary of latency samples, in milliseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The middle of `xs` by `key` (of an even number, the lower middle).
pub fn median_by<T: Copy>(mut xs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    xs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    xs[(xs.len() - 1) / 2]
}

pub fn summarize(samples: &[Duration]) -> Summary {
    if samples.is_empty() {
        return Summary::default();
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    // Nearest-rank percentile.
    let pick = |p: f64| {
        let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[rank.clamp(1, ms.len()) - 1]
    };
    Summary {
        n: ms.len(),
        p50_ms: pick(50.0),
        p95_ms: pick(95.0),
        p99_ms: pick(99.0),
        max_ms: ms[ms.len() - 1],
    }
}

/// Runs `f` at least `min_reps` times and until `budget` is spent (at most `max_reps`).
pub fn repeat<T>(
    min_reps: usize,
    max_reps: usize,
    budget: Duration,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Vec<Duration>, T)> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut last;
    loop {
        let t = Instant::now();
        last = f()?;
        out.push(t.elapsed());
        if out.len() >= max_reps || (out.len() >= min_reps && start.elapsed() >= budget) {
            break;
        }
    }
    Ok((out, last))
}

/// splitmix64: deterministic data without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    /// Picks by weight from `(value, weight)` pairs.
    pub fn weighted<T: Copy>(&mut self, xs: &[(T, u32)]) -> T {
        let total: u32 = xs.iter().map(|x| x.1).sum();
        let mut r = self.below(total as usize) as u32;
        for (v, w) in xs {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        xs[xs.len() - 1].0
    }
}

/// One line of the results table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub figure: String,
    pub value: f64,
    pub unit: String,
    pub note: String,
}

/// The collected results of one run.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    /// (name, value, target description, met)
    pub ratios: Vec<(String, f64, String, Option<bool>)>,
    /// The growth plot's lines (docs/bench/growth.png), one panel each.
    pub series: Vec<Series>,
}

/// A panel of the growth plot: what grows along its x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Panel {
    /// Queue and search p95 (ms) against consultations in the store, SQLite and the hub.
    StoreSize,
    /// The notification policy: scenario::run p95 (ms) against the events of the day.
    PolicyDay,
    /// Intake rows/s against concurrent HTTP clients (group commit) and the raw writer.
    IntakeLoad,
    /// The policy's ms per day through a week in one run (flat = no growth with history).
    PolicyWeek,
}

/// One line of the growth plot.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub panel: Panel,
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Report {
    pub fn row(&mut self, figure: &str, value: f64, unit: &str, note: &str) {
        eprintln!("  {figure:<48} {value:>12.3} {unit} {note}");
        self.rows.push(Row {
            figure: figure.into(),
            value,
            unit: unit.into(),
            note: note.into(),
        });
    }
    pub fn ratio(&mut self, name: &str, value: f64, target: &str, met: Option<bool>) {
        self.ratios.push((name.into(), value, target.into(), met));
    }
    /// A point of the line `name` in `panel`; a second point at the same x keeps the larger
    /// value (the worst of two queries of the same length).
    pub fn point(&mut self, panel: Panel, name: &str, x: f64, y: f64) {
        match self
            .series
            .iter_mut()
            .find(|s| s.panel == panel && s.name == name)
        {
            Some(s) => match s.points.iter_mut().find(|p| p.0 == x) {
                Some(p) => p.1 = p.1.max(y),
                None => s.points.push((x, y)),
            },
            None => self.series.push(Series {
                panel,
                name: name.into(),
                points: vec![(x, y)],
            }),
        }
    }

    /// Prints the table (markdown) and then the `RATIO name=value` lines.
    pub fn print(&self) {
        println!();
        println!("| figure | value | unit | note |");
        println!("|---|---:|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} |",
                r.figure,
                fmt_num(r.value),
                r.unit,
                r.note
            );
        }
        println!();
        println!("| ratio | value | target | verdict |");
        println!("|---|---:|---|---|");
        for (name, v, target, met) in &self.ratios {
            let verdict = match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "info",
            };
            println!("| {name} | {} | {target} | {verdict} |", fmt_num(*v));
        }
        println!();
        for (name, v, _, _) in &self.ratios {
            println!("RATIO {name}={}", fmt_num(*v));
        }
    }
}

pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
