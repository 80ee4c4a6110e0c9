//! The growth plot (docs/bench/growth.png): queue first page and search p95 against store size,
//! log–log. Labels use DejaVu Sans when the system has it (read at run time, no fontconfig);
//! without it the plot has lines only.

use anyhow::{anyhow, Result};
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

/// Draws `series` (name, [(size, ms)]) on log–log axes with horizontal target lines.
pub fn growth(
    out: &Path,
    series: &[(String, Vec<(u64, f64)>)],
    targets: &[(&str, f64)],
) -> Result<()> {
    let fonts = register_font();
    if let Some(d) = out.parent() {
        std::fs::create_dir_all(d)?;
    }
    let root = BitMapBackend::new(out, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let xs: Vec<u64> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .chain(targets.iter().map(|t| t.1))
        .collect();
    let x0 = xs.iter().copied().min().unwrap_or(1).max(1) as f64 / 1.5;
    let x1 = xs.iter().copied().max().unwrap_or(10) as f64 * 1.5;
    let y0 = ys.iter().copied().fold(f64::INFINITY, f64::min).max(0.001) / 2.0;
    let y1 = ys.iter().copied().fold(0.0, f64::max).max(1.0) * 2.0;
    let mut b = ChartBuilder::on(&root);
    b.margin(20);
    if fonts {
        b.caption(
            "Renkei Desk: p95 latency (ms) vs consultations in the store",
            ("sans-serif", 22),
        )
        .x_label_area_size(40)
        .y_label_area_size(60);
    }
    let mut chart = b
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
        .map_err(|e| anyhow!("plot: {e}"))?;
    if fonts {
        chart
            .configure_mesh()
            .x_desc("consultations")
            .y_desc("ms (p95)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v}"))
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
    } else {
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (*x as f64, y.max(y0))).collect();
        let s = chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
            .map_err(|e| anyhow!("plot: {e}"))?;
        if fonts {
            s.label(name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
            });
        }
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    for (i, (name, y)) in targets.iter().enumerate() {
        let c = RGBColor(120, 120, 120);
        let s = chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, *y), (x1, *y)],
                6 + 2 * i as u32,
                6,
                c.stroke_width(1),
            ))
            .map_err(|e| anyhow!("plot: {e}"))?;
        if fonts {
            s.label(*name).legend(move |(x, y)| {
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
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(|e| anyhow!("plot: {e}"))?;
    }
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}
