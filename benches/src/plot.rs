//! The growth plot (docs/bench/growth.png): four panels of what grows and what must not —
//! queue and search p95 against store size (SQLite and the hub's PostgreSQL), the notification
//! policy against the events of a day and across a week, and intake throughput against
//! concurrent clients. Labels use DejaVu Sans when the system has it (read at run time, no
//! fontconfig); without it the plot has lines only.

use crate::stats::{Panel, Series};
use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn register_font() -> bool {
    for p in FONT_PATHS {
        if let Ok(bytes) = std::fs::read(p) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return true;
            }
        }
    }
    false
}

const COLOURS: &[RGBColor] = &[
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// How one panel is drawn.
struct Layout {
    panel: Panel,
    title: &'static str,
    x_desc: &'static str,
    y_desc: &'static str,
    log_x: bool,
    log_y: bool,
    /// How far the y axis goes above the data (×, log panels), room for the legend.
    headroom: f64,
    /// Horizontal target lines (label, y).
    targets: Vec<(String, f64)>,
}

fn e<E: std::fmt::Display>(err: E) -> anyhow::Error {
    anyhow!("plot: {err}")
}

/// Draws every panel that has data into `out` (2 × 2).
pub fn growth(out: &Path, series: &[Series]) -> Result<()> {
    let fonts = register_font();
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d)?;
    }
    let root = BitMapBackend::new(out, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let raw_best = series
        .iter()
        .find(|s| s.panel == Panel::IntakeLoad && s.name.starts_with("raw"))
        .and_then(|s| s.points.first())
        .map(|p| p.1);
    let layouts = [
        Layout {
            panel: Panel::StoreSize,
            title: "Queue and search p95 (ms) vs consultations in the store",
            x_desc: "consultations",
            y_desc: "ms (p95)",
            log_x: true,
            log_y: true,
            headroom: 40.0,
            targets: vec![
                ("queue target 10 ms".into(), 10.0),
                ("search target 25 ms".into(), 25.0),
            ],
        },
        Layout {
            panel: Panel::PolicyDay,
            title: "Notification policy: a day's run p95 (ms) vs its events",
            x_desc: "events in the day",
            y_desc: "ms (p95)",
            log_x: true,
            log_y: true,
            headroom: 8.0,
            targets: vec![("target 100 ms (1,000-consultation day)".into(), 100.0)],
        },
        Layout {
            panel: Panel::IntakeLoad,
            title: "Intake rows/s vs concurrent HTTP clients (durable, encrypted)",
            x_desc: "clients",
            y_desc: "rows/s",
            log_x: true,
            log_y: false,
            headroom: 1.5,
            targets: raw_best
                .map(|r| vec![("target 3 × raw at 8 clients".into(), 3.0 * r)])
                .unwrap_or_default(),
        },
        Layout {
            panel: Panel::PolicyWeek,
            title: "Notification policy through a week in one run: ms per day",
            x_desc: "day",
            y_desc: "ms",
            log_x: false,
            log_y: false,
            headroom: 1.5,
            targets: Vec::new(),
        },
    ];
    let areas = root.split_evenly((2, 2));
    for (area, layout) in areas.iter().zip(&layouts) {
        let lines: Vec<&Series> = series.iter().filter(|s| s.panel == layout.panel).collect();
        if lines.is_empty() {
            continue;
        }
        let xs = lines.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (xmin, xmax) = bounds(xs);
        let ys = lines
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(layout.targets.iter().map(|t| t.1));
        let (ymin, ymax) = bounds(ys);
        let (x0, x1) = if layout.log_x {
            (xmin.max(0.5) / 1.5, xmax * 1.5)
        } else {
            (xmin - 0.5, xmax + 0.5)
        };
        // Headroom above the data for the legend (upper left).
        let (y0, y1) = if layout.log_y {
            (ymin.max(0.001) / 2.0, ymax.max(1.0) * layout.headroom)
        } else {
            (0.0, ymax * layout.headroom)
        };
        match (layout.log_x, layout.log_y) {
            (true, true) => draw(
                area,
                layout,
                &lines,
                (x0..x1).log_scale(),
                (y0..y1).log_scale(),
                (x0, x1, y0),
                fonts,
            )?,
            (true, false) => draw(
                area,
                layout,
                &lines,
                (x0..x1).log_scale(),
                y0..y1,
                (x0, x1, y0),
                fonts,
            )?,
            (false, _) => draw(area, layout, &lines, x0..x1, y0..y1, (x0, x1, y0), fonts)?,
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

fn bounds(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::INFINITY, 0.0_f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    })
}

/// One panel on `area` with the coordinates `xr` × `yr` (linear or log).
fn draw<X, Y>(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    layout: &Layout,
    lines: &[&Series],
    xr: X,
    yr: Y,
    (x0, x1, y_floor): (f64, f64, f64),
    fonts: bool,
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut b = ChartBuilder::on(area);
    b.margin(16);
    if fonts {
        b.caption(layout.title, ("sans-serif", 18))
            .x_label_area_size(36)
            .y_label_area_size(64);
    }
    let mut chart = b.build_cartesian_2d(xr, yr).map_err(e)?;
    if fonts {
        chart
            .configure_mesh()
            // No minor lines: on log axes they shade the whole panel.
            .light_line_style(WHITE)
            .bold_line_style(RGBColor(225, 225, 225))
            .x_desc(layout.x_desc)
            .y_desc(layout.y_desc)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| {
                if *v >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v}")
                }
            })
            .draw()
            .map_err(e)?;
    } else {
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .draw()
            .map_err(e)?;
    }
    for (i, s) in lines.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let mut pts: Vec<(f64, f64)> = s.points.iter().map(|(x, y)| (*x, y.max(y_floor))).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let drawn = chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
            .map_err(e)?;
        if fonts {
            drawn.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
            });
        }
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(e)?;
    }
    for (i, (name, y)) in layout.targets.iter().enumerate() {
        let c = RGBColor(120, 120, 120);
        let drawn = chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, *y), (x1, *y)],
                6 + 2 * i as u32,
                6,
                c.stroke_width(1),
            ))
            .map_err(e)?;
        if fonts {
            let name = name.clone();
            drawn.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(1))
            });
        }
    }
    if fonts {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}
