//! SVG figures of simulation reports (plotters): unit utilization, a roofline with each HE
//! operation's position, and per-layer latency split by unit.

use anyhow::{Context, Result};
use heaccel_sim::{HwConfig, TimingReport, Work};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One point of a roofline: an operation's arithmetic intensity and achieved throughput.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RooflinePoint {
    /// What was simulated (e.g. `hrot`).
    pub label: String,
    /// Modular multiplications per off-chip byte (`> 0`).
    pub intensity: f64,
    /// Achieved modular multiplications per second.
    pub throughput: f64,
}

impl RooflinePoint {
    /// The point of a simulated program with work `work`.
    pub fn of(label: &str, work: &Work, report: &TimingReport, config: &HwConfig) -> Self {
        let bytes = work.offchip_bytes(config.word_bytes()).max(1) as f64;
        RooflinePoint {
            label: label.to_string(),
            intensity: work.modmuls as f64 / bytes,
            throughput: work.modmuls as f64 / (report.time_us.max(1e-9) * 1e-6),
        }
    }
}

/// Peak modular multiplications per second: every butterfly, element-wise lane and
/// basis-conversion lane busy each cycle.
pub fn peak_modmuls_per_second(config: &HwConfig) -> f64 {
    let per_cycle = config.ntt.units as f64 * config.ntt.butterflies_per_unit as f64
        + config.modmul.lanes as f64
        + config.bconv.lanes as f64;
    per_cycle * config.clock_mhz * 1e6
}

/// The label of a segmented axis position: the name of the segment it centres.
fn segment_label(v: &SegmentValue<usize>, name: impl Fn(usize) -> Option<String>) -> String {
    match v {
        SegmentValue::CenterOf(i) => name(*i).unwrap_or_default(),
        _ => String::new(),
    }
}

const UNIT_COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

fn draw_utilization(area: &DrawingArea<SVGBackend, Shift>, report: &TimingReport) -> Result<()> {
    let units = &report.units;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "unit busy, {:.1} us ({} bound)",
                report.time_us,
                report.bound.name()
            ),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d((0..units.len()).into_segmented(), 0f64..100f64)
        .context("utilization chart")?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(units.len())
        .x_label_formatter(&|v| segment_label(v, |i| units.get(i).map(|u| u.unit.name().into())))
        .y_desc("busy %")
        .draw()
        .context("utilization axes")?;
    chart
        .draw_series(units.iter().enumerate().map(|(i, u)| {
            let color = UNIT_COLORS[i % UNIT_COLORS.len()];
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), u.busy * 100.0),
                ],
                color.filled(),
            )
        }))
        .context("utilization bars")?;
    Ok(())
}

fn draw_roofline(
    area: &DrawingArea<SVGBackend, Shift>,
    points: &[RooflinePoint],
    config: &HwConfig,
) -> Result<()> {
    let peak = peak_modmuls_per_second(config);
    let bandwidth = config.memory.bandwidth_gb_s * 1e9;
    let ridge = peak / bandwidth;
    let x_min = points
        .iter()
        .map(|p| p.intensity)
        .fold(ridge, f64::min)
        .max(1e-3)
        / 10.0;
    let x_max = points.iter().map(|p| p.intensity).fold(ridge, f64::max) * 10.0;
    let y_max = peak * 3.0;
    let y_min = points
        .iter()
        .map(|p| p.throughput)
        .fold(bandwidth * x_min, f64::min)
        .max(1.0)
        / 3.0;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("roofline on {} (modmul/s vs modmul/byte)", config.name),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())
        .context("roofline chart")?;
    chart
        .configure_mesh()
        .x_desc("modular multiplications per off-chip byte")
        .y_desc("modmul/s")
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .draw()
        .context("roofline axes")?;
    let roof: Vec<(f64, f64)> = (0..=64)
        .map(|i| x_min * (x_max / x_min).powf(i as f64 / 64.0))
        .map(|x| (x, (bandwidth * x).min(peak)))
        .collect();
    chart
        .draw_series(LineSeries::new(roof, BLACK.stroke_width(2)))
        .context("roof")?;
    for (i, p) in points.iter().enumerate() {
        let color = UNIT_COLORS[i % UNIT_COLORS.len()];
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.intensity, p.throughput),
                5,
                color.filled(),
            )))
            .context("roofline point")?
            .label(p.label.clone())
            .legend(move |(x, y)| Circle::new((x, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .context("roofline legend")?;
    Ok(())
}

/// Unit utilization of `report` beside the roofline position of `points`, as SVG text.
pub fn simulation_svg(
    report: &TimingReport,
    points: &[RooflinePoint],
    config: &HwConfig,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 420)).into_drawing_area();
        root.fill(&WHITE).context("background")?;
        let (left, right) = root.split_horizontally(450);
        draw_utilization(&left, report)?;
        draw_roofline(&right, points, config)?;
        root.present().context("rendering the figure")?;
    }
    Ok(svg)
}

/// The layers of [`network_svg`]: `layers[i] = (name, [(unit, us)])`, stacked per layer.
pub type LayerParts = [(String, Vec<(String, f64)>)];

/// Width in pixels of a figure with `layers` bars.
fn layer_figure_width(layers: usize) -> u32 {
    (160 + 60 * layers).clamp(500, 2400) as u32
}

fn draw_layer_latency(
    root: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    layers: &LayerParts,
) -> Result<()> {
    {
        let total_max = layers
            .iter()
            .map(|(_, parts)| parts.iter().map(|(_, t)| t).sum::<f64>())
            .fold(0.0, f64::max)
            .max(1e-9);
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d((0..layers.len()).into_segmented(), 0f64..total_max * 1.1)
            .context("layer chart")?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(layers.len())
            .x_label_formatter(&|v| segment_label(v, |i| layers.get(i).map(|l| l.0.clone())))
            .y_desc("us")
            .draw()
            .context("layer axes")?;
        let mut unit_names: Vec<String> = Vec::new();
        for (_, parts) in layers {
            for (u, _) in parts {
                if !unit_names.contains(u) {
                    unit_names.push(u.clone());
                }
            }
        }
        for (k, unit) in unit_names.iter().enumerate() {
            let color = UNIT_COLORS[k % UNIT_COLORS.len()];
            let bars: Vec<Rectangle<(SegmentValue<usize>, f64)>> = layers
                .iter()
                .enumerate()
                .map(|(i, (_, parts))| {
                    let below: f64 = parts
                        .iter()
                        .filter(|(u, _)| unit_names[..k].contains(u))
                        .map(|p| p.1)
                        .sum();
                    let own = parts.iter().find(|(u, _)| u == unit).map_or(0.0, |p| p.1);
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(i), below),
                            (SegmentValue::Exact(i + 1), below + own),
                        ],
                        color.filled(),
                    )
                })
                .collect();
            chart
                .draw_series(bars)
                .context("layer bars")?
                .label(unit.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .context("layer legend")?;
    }
    Ok(())
}

/// Busy percentage of every unit for each HE operation: `ops[i] = (name, report)`, one
/// group of bars per operation.
fn draw_op_utilization(
    area: &DrawingArea<SVGBackend, Shift>,
    ops: &[(String, TimingReport)],
) -> Result<()> {
    let units: Vec<&'static str> = ops
        .first()
        .map(|(_, r)| r.units.iter().map(|u| u.unit.name()).collect())
        .unwrap_or_default();
    let per = units.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption("unit busy per HE operation", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(45)
        .build_cartesian_2d((0..ops.len() * per).into_segmented(), 0f64..100f64)
        .context("operation utilization chart")?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(ops.len() * per)
        .x_label_formatter(&|v| {
            segment_label(v, |i| (i % per == per / 2).then(|| ops[i / per].0.clone()))
        })
        .y_desc("busy %")
        .draw()
        .context("operation utilization axes")?;
    for (j, unit) in units.iter().enumerate() {
        let color = UNIT_COLORS[j % UNIT_COLORS.len()];
        chart
            .draw_series(ops.iter().enumerate().map(|(i, (_, r))| {
                let busy = r.units.get(j).map_or(0.0, |u| u.busy);
                Rectangle::new(
                    [
                        (SegmentValue::Exact(i * per + j), 0.0),
                        (SegmentValue::Exact(i * per + j + 1), busy * 100.0),
                    ],
                    color.filled(),
                )
            }))
            .context("operation utilization bars")?
            .label(*unit)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .context("operation utilization legend")?;
    Ok(())
}

/// A network's figure: per-layer latency split by bounding unit (top), each HE operation's
/// unit utilization (bottom left) and roofline position (bottom right) on `config`.
pub fn network_svg(
    title: &str,
    layers: &LayerParts,
    ops: &[(String, TimingReport)],
    points: &[RooflinePoint],
    config: &HwConfig,
) -> Result<String> {
    let mut svg = String::new();
    {
        let width = layer_figure_width(layers.len()).max(1100);
        let root = SVGBackend::with_string(&mut svg, (width, 860)).into_drawing_area();
        root.fill(&WHITE).context("background")?;
        let (top, bottom) = root.split_vertically(440);
        draw_layer_latency(&top, title, layers)?;
        let (left, right) = bottom.split_horizontally(width / 2);
        draw_op_utilization(&left, ops)?;
        draw_roofline(&right, points, config)?;
        root.present().context("rendering the figure")?;
    }
    Ok(svg)
}

/// Latency against cost for every sweep point `(cost, time_us, on_front)`, the Pareto front
/// drawn as a line.
pub fn pareto_svg(title: &str, points: &[(f64, f64, bool)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).context("background")?;
        let (x_lo, x_hi) = points.iter().fold((f64::INFINITY, 0f64), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
        let (y_lo, y_hi) = points.iter().fold((f64::INFINITY, 0f64), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
        let (x_lo, y_lo) = (x_lo.max(1e-9) / 1.5, y_lo.max(1e-9) / 1.5);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                (x_lo..(x_hi * 1.5).max(x_lo * 2.0)).log_scale(),
                (y_lo..(y_hi * 1.5).max(y_lo * 2.0)).log_scale(),
            )
            .context("pareto chart")?;
        chart
            .configure_mesh()
            .x_desc("cost proxy: multiplier lanes x word bits")
            .y_desc("latency (us)")
            .draw()
            .context("pareto axes")?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, y, _)| Circle::new((x, y), 3, RGBColor(150, 150, 150).filled())),
            )
            .context("sweep points")?
            .label("configuration")
            .legend(|(x, y)| Circle::new((x, y), 3, RGBColor(150, 150, 150).filled()));
        let mut front: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.2)
            .map(|&(x, y, _)| (x, y))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(
                front.clone(),
                UNIT_COLORS[3].stroke_width(2),
            ))
            .context("pareto front")?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], UNIT_COLORS[3]));
        chart
            .draw_series(
                front
                    .iter()
                    .map(|&p| Circle::new(p, 4, UNIT_COLORS[3].filled())),
            )
            .context("pareto points")?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .context("pareto legend")?;
        root.present().context("rendering the figure")?;
    }
    Ok(svg)
}

/// One point of [`tradeoff_svg`]'s figure (a trained network: its accuracy and latency).
#[derive(Clone, Debug)]
pub struct ParetoPoint {
    /// Simulated latency, milliseconds (> 0).
    pub latency_ms: f64,
    /// Test accuracy, in [0, 1].
    pub accuracy: f64,
    /// The label drawn beside it (the ratio, or `dense`).
    pub label: String,
    /// Whether it is the dense baseline (drawn as a square).
    pub dense: bool,
}

/// The trade-off figure of `heaccel tradeoff`: test accuracy (%) against simulated latency
/// (ms), one labelled point per network, the pruned SpENCNN points joined in latency order,
/// the dense baseline a square.
pub fn tradeoff_svg(title: &str, points: &[ParetoPoint]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).context("background")?;
        let x_hi = points.iter().map(|p| p.latency_ms).fold(0f64, f64::max);
        let accuracies = points.iter().map(|p| 100.0 * p.accuracy);
        let y_lo = accuracies.clone().fold(100f64, f64::min);
        let y_hi = accuracies.fold(0f64, f64::max);
        let pad = ((y_hi - y_lo) * 0.15).max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(
                0f64..(x_hi * 1.15).max(1e-6),
                (y_lo - pad).max(0.0)..(y_hi + pad).min(100.0),
            )
            .context("tradeoff chart")?;
        chart
            .configure_mesh()
            .x_desc("simulated latency (ms)")
            .y_desc("test accuracy (%)")
            .draw()
            .context("tradeoff axes")?;
        let mut pruned: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| !p.dense)
            .map(|p| (p.latency_ms, 100.0 * p.accuracy))
            .collect();
        pruned.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(pruned, UNIT_COLORS[0].stroke_width(2)))
            .context("spencnn line")?
            .label("SpENCNN, pruning ratio")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], UNIT_COLORS[0]));
        for p in points {
            let at = (p.latency_ms, 100.0 * p.accuracy);
            if p.dense {
                chart
                    .draw_series([EmptyElement::at(at)
                        + Rectangle::new([(-5, -5), (5, 5)], UNIT_COLORS[3].filled())])
                    .context("dense point")?
                    .label("dense baseline")
                    .legend(|(x, y)| {
                        Rectangle::new([(x + 3, y - 4), (x + 11, y + 4)], UNIT_COLORS[3].filled())
                    });
            } else {
                chart
                    .draw_series([
                        EmptyElement::at(at) + Circle::new((0, 0), 4, UNIT_COLORS[0].filled())
                    ])
                    .context("tradeoff point")?;
            }
            chart
                .draw_series([EmptyElement::at(at)
                    + Text::new(p.label.clone(), (7, -14), ("sans-serif", 13).into_font())])
                .context("tradeoff label")?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .context("tradeoff legend")?;
        root.present().context("rendering the figure")?;
    }
    Ok(svg)
}
