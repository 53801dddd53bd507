//! Hand-written SVG plots: line charts with a tolerance band, and an alarm timeline.
//!
//! Output is deterministic (fixed-precision coordinates) and self-contained (no fonts or
//! scripts fetched), so the report prints the same everywhere.

use crate::units::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use std::fmt::Write;

const WIDTH: f64 = 720.0;
const LEFT: f64 = 104.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// Colour-blind-safe palette (Okabe–Ito).
pub mod colour {
    pub const EXPECTED: &str = "#555555";
    pub const DEVICE: &str = "#0072B2";
    pub const BALANCE: &str = "#D55E00";
    pub const PLANT: &str = "#009E73";
    pub const BAND: &str = "#0072B2";
    pub const LIMIT: &str = "#CC79A7";
    pub const HIGH: &str = "#D55E00";
    pub const MEDIUM: &str = "#E69F00";
    pub const LOW: &str = "#56B4E9";
    pub const WINDOW_RAISE: &str = "#009E73";
    pub const WINDOW_CLEAR: &str = "#0072B2";
    pub const FORBIDDEN: &str = "#D55E00";
    pub const FINDING: &str = "#000000";
}

/// Keeps at most `max` points, evenly strided, always the first and the last.
pub fn downsample<T: Copy>(points: &[T], max: usize) -> Vec<T> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let last = points.len() - 1;
    (0..max).map(|i| points[i * last / (max - 1)]).collect()
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A step of 1, 2 or 5 × 10ⁿ giving about `target` intervals over `span`.
pub fn nice_step(span: f64, target: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text[1..].to_string()
    } else {
        text
    }
}

/// Device time on the x axis: hours for up to three days, days beyond; or a window of it
/// (an inset) in minutes or hours counted from an origin inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeAxis {
    pub start_ms: u64,
    pub end_ms: u64,
    /// Where the tick labels count from: 0 there, negative before it.
    pub origin_ms: u64,
    pub unit_ms: u64,
    pub unit: &'static str,
    /// What the axis measures, before its unit.
    pub caption: &'static str,
}

impl TimeAxis {
    pub fn new(end_ms: u64) -> TimeAxis {
        let (unit_ms, unit) = if end_ms <= 3 * MS_PER_DAY {
            (MS_PER_HOUR, "h")
        } else {
            (MS_PER_DAY, "d")
        };
        TimeAxis {
            start_ms: 0,
            end_ms: end_ms.max(1),
            origin_ms: 0,
            unit_ms,
            unit,
            caption: "device time since scenario start",
        }
    }

    /// A window `start_ms..end_ms` of scenario time, labelled in minutes (up to three hours
    /// wide) or hours from `origin_ms`.
    pub fn window(start_ms: u64, end_ms: u64, origin_ms: u64, caption: &'static str) -> TimeAxis {
        let end_ms = end_ms.max(start_ms + 1);
        let (unit_ms, unit) = if end_ms - start_ms <= 3 * MS_PER_HOUR {
            (MS_PER_MINUTE, "min")
        } else {
            (MS_PER_HOUR, "h")
        };
        TimeAxis {
            start_ms,
            end_ms,
            origin_ms,
            unit_ms,
            unit,
            caption,
        }
    }

    fn span(&self) -> f64 {
        (self.end_ms - self.start_ms) as f64 / self.unit_ms as f64
    }

    fn x(&self, t_ms: f64) -> f64 {
        let along = (t_ms - self.start_ms as f64) / (self.end_ms - self.start_ms) as f64;
        LEFT + (WIDTH - LEFT - RIGHT) * along.clamp(0.0, 1.0)
    }

    /// Whether `a..b` (scenario time) shows on this axis at all.
    pub fn overlaps(&self, a: u64, b: u64) -> bool {
        a <= self.end_ms && b >= self.start_ms
    }

    fn ticks(&self, out: &mut String, top: f64, bottom: f64) {
        let span = self.span();
        let step = match self.unit {
            "h" => {
                let s = nice_step(span, 8.0);
                [1.0, 2.0, 3.0, 6.0, 12.0, 24.0]
                    .into_iter()
                    .find(|c| *c >= s)
                    .unwrap_or(s)
            }
            "min" => {
                let s = nice_step(span, 8.0);
                [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0]
                    .into_iter()
                    .find(|c| *c >= s)
                    .unwrap_or(s)
            }
            _ => nice_step(span, 8.0).max(1.0),
        };
        let unit = self.unit_ms as f64;
        let from = (self.start_ms as f64 - self.origin_ms as f64) / unit;
        let to = (self.end_ms as f64 - self.origin_ms as f64) / unit;
        let mut v = (from / step - 1e-9).ceil() * step;
        while v <= to + 1e-9 {
            let x = self.x(self.origin_ms as f64 + v * unit);
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="tick" text-anchor="middle">{}</text>"##,
                bottom + 13.0,
                tick_label(v, step)
            );
            v += step;
        }
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{} ({})</text>"##,
            LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
            bottom + 29.0,
            escape(self.caption),
            self.unit
        );
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub dashed: bool,
    /// (scenario time in ms, value in the chart's y unit).
    pub points: Vec<(f64, f64)>,
}

/// A translucent band between two curves sharing their x values.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub name: String,
    pub colour: &'static str,
    /// (time ms, low, high).
    pub points: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub name: String,
    pub colour: &'static str,
    pub value: f64,
}

/// A vertical marker at a scenario time.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub name: String,
    pub colour: &'static str,
    pub t_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub axis: TimeAxis,
    pub y_label: String,
    pub height: f64,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub levels: Vec<Level>,
    pub markers: Vec<Marker>,
}

/// The plot area's frame, drawn over the data.
fn frame(out: &mut String, top: f64, bottom: f64) {
    let _ = write!(
        out,
        r##"<rect x="{LEFT:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" class="frame"/>"##,
        WIDTH - LEFT - RIGHT,
        bottom - top
    );
}

fn legend(out: &mut String, items: &[(&str, &str, &str)]) {
    // (name, colour, kind: line | dash | band | mark)
    let mut x = LEFT;
    let mut y = 14.0;
    for (name, colour, kind) in items {
        let width = 26.0 + name.chars().count() as f64 * 5.6;
        if x + width > WIDTH - RIGHT {
            x = LEFT;
            y += 13.0;
        }
        let swatch = match *kind {
            "band" => format!(
                r##"<rect x="{x:.1}" y="{:.1}" width="16" height="8" fill="{colour}" fill-opacity="0.18" stroke="{colour}" stroke-opacity="0.5"/>"##,
                y - 7.0
            ),
            "dash" => format!(
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.6" stroke-dasharray="4 3"/>"##,
                y - 3.0,
                x + 16.0,
                y - 3.0
            ),
            "tri" => format!(
                r##"<path d="M{:.1} {:.1} l4 -7 l-8 0 z" fill="{colour}"/>"##,
                x + 8.0,
                y
            ),
            "mark" => format!(
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="1.4" stroke-dasharray="2 2"/>"##,
                x + 8.0,
                y - 9.0,
                x + 8.0,
                y + 1.0
            ),
            _ => format!(
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/>"##,
                y - 3.0,
                x + 16.0,
                y - 3.0
            ),
        };
        out.push_str(&swatch);
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{y:.1}" class="legend">{}</text>"##,
            x + 20.0,
            escape(name)
        );
        x += width;
    }
}

fn open(height: f64, label: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0} {height:.0}" role="img" aria-label="{}" class="plot">"##,
        escape(label)
    )
}

/// A line chart over device time with y from 0 (or below, if data go there).
pub fn line_chart(chart: &LineChart) -> String {
    let height = chart.height;
    let (top, bottom) = (TOP + 6.0, height - BOTTOM);
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(
            chart
                .bands
                .iter()
                .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
        )
        .chain(chart.levels.iter().map(|l| l.value))
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo <= f64::EPSILON {
        hi = lo + 1.0;
    }
    // Balance noise around zero should not push the axis below zero.
    if lo < 0.0 && -lo < 0.03 * hi {
        lo = 0.0;
    }
    let step = nice_step(hi - lo, 5.0);
    lo = (lo / step).floor() * step;
    hi = (hi / step).ceil() * step;
    let y = |v: f64| bottom - (bottom - top) * ((v - lo) / (hi - lo)).clamp(-0.02, 1.02);
    let x = |t: f64| chart.axis.x(t);

    let mut out = open(height, &chart.y_label);
    let mut v = lo;
    while v <= hi + step * 1e-6 {
        let _ = write!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" class="grid"/><text x="{2:.1}" y="{3:.1}" class="tick" text-anchor="end">{4}</text>"##,
            y(v),
            WIDTH - RIGHT,
            LEFT - 5.0,
            y(v) + 3.5,
            tick_label(v, step)
        );
        v += step;
    }
    chart.axis.ticks(&mut out, top, bottom);
    let _ = write!(
        out,
        r##"<text transform="translate(58 {:.1}) rotate(-90)" class="axis" text-anchor="middle">{}</text>"##,
        (top + bottom) / 2.0,
        escape(&chart.y_label)
    );
    for band in &chart.bands {
        let mut path = String::new();
        for (t, _, high) in &band.points {
            let _ = write!(path, "{:.1},{:.1} ", x(*t), y(*high));
        }
        for (t, low, _) in band.points.iter().rev() {
            let _ = write!(path, "{:.1},{:.1} ", x(*t), y(*low));
        }
        let _ = write!(
            out,
            r##"<polygon points="{}" fill="{}" fill-opacity="0.16" stroke="none"/>"##,
            path.trim_end(),
            band.colour
        );
    }
    for level in &chart.levels {
        let _ = write!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{2}" stroke-width="1.2" stroke-dasharray="6 3"/>"##,
            y(level.value),
            WIDTH - RIGHT,
            level.colour
        );
    }
    for marker in &chart.markers {
        let _ = write!(
            out,
            r##"<line x1="{0:.1}" y1="{top:.1}" x2="{0:.1}" y2="{bottom:.1}" stroke="{1}" stroke-width="1.4" stroke-dasharray="2 2"/>"##,
            x(marker.t_ms),
            marker.colour
        );
    }
    for series in &chart.series {
        if series.points.is_empty() {
            continue;
        }
        let mut path = String::new();
        for (t, v) in downsample(&series.points, 600) {
            if v.is_finite() {
                let _ = write!(path, "{:.1},{:.1} ", x(t), y(v));
            }
        }
        let dash = if series.dashed {
            r##" stroke-dasharray="5 3""##
        } else {
            ""
        };
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6" stroke-linejoin="round"{dash}/>"##,
            path.trim_end(),
            series.colour
        );
    }
    frame(&mut out, top, bottom);
    let mut items: Vec<(&str, &str, &str)> = Vec::new();
    for s in &chart.series {
        items.push((&s.name, s.colour, if s.dashed { "dash" } else { "line" }));
    }
    for b in &chart.bands {
        items.push((&b.name, b.colour, "band"));
    }
    for l in &chart.levels {
        items.push((&l.name, l.colour, "dash"));
    }
    for m in &chart.markers {
        items.push((&m.name, m.colour, "mark"));
    }
    legend(&mut out, &items);
    out.push_str("</svg>");
    out
}

/// What a span on a timeline lane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    ExpectedRaise,
    ExpectedClear,
    Forbidden,
    /// The alarm was active, coloured by priority.
    Active(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub label: String,
    pub spans: Vec<(u64, u64, SpanKind)>,
    /// Point events (findings): time and a short label.
    pub marks: Vec<u64>,
}

/// One lane per alarm (and one for harness findings) over device time.
pub fn timeline(axis: TimeAxis, lanes: &[Lane]) -> String {
    let lane_h = 20.0;
    let top = TOP + 8.0;
    let height = top + lane_h * lanes.len().max(1) as f64 + BOTTOM;
    let bottom = height - BOTTOM;
    let mut out = open(height, "alarm timeline");
    axis.ticks(&mut out, top, bottom);
    for (i, lane) in lanes.iter().enumerate() {
        let y0 = top + lane_h * i as f64;
        let _ = write!(
            out,
            r##"<text x="{0:.1}" y="{1:.1}" class="tick" text-anchor="end">{2}</text><line x1="{LEFT:.1}" y1="{3:.1}" x2="{4:.1}" y2="{3:.1}" class="grid"/>"##,
            LEFT - 5.0,
            y0 + lane_h / 2.0 + 3.5,
            escape(&lane.label),
            y0 + lane_h,
            WIDTH - RIGHT
        );
        for &(a, b, kind) in lane.spans.iter().filter(|(a, b, _)| axis.overlaps(*a, *b)) {
            let (x0, x1) = (axis.x(a as f64), axis.x(b as f64));
            // A five-minute window on a year's axis must still be visible.
            let (x0, w) = if x1 - x0 < 3.0 {
                ((x0 + x1) / 2.0 - 1.5, 3.0)
            } else {
                (x0, x1 - x0)
            };
            let rect = match kind {
                SpanKind::ExpectedRaise | SpanKind::ExpectedClear | SpanKind::Forbidden => {
                    let colour = match kind {
                        SpanKind::ExpectedRaise => colour::WINDOW_RAISE,
                        SpanKind::ExpectedClear => colour::WINDOW_CLEAR,
                        _ => colour::FORBIDDEN,
                    };
                    let opacity = if kind == SpanKind::Forbidden {
                        0.10
                    } else {
                        0.35
                    };
                    format!(
                        r##"<rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{colour}" fill-opacity="{opacity}" stroke="{colour}" stroke-opacity="0.7" stroke-width="0.6"/>"##,
                        y0 + 1.5,
                        lane_h - 3.0
                    )
                }
                SpanKind::Active(colour) => format!(
                    r##"<rect x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{colour}" rx="1.5"/>"##,
                    y0 + 6.0,
                    lane_h - 12.0
                ),
            };
            out.push_str(&rect);
        }
        for &t in lane.marks.iter().filter(|t| axis.overlaps(**t, **t)) {
            let xm = axis.x(t as f64);
            let _ = write!(
                out,
                r##"<path d="M{xm:.1} {:.1} l4 -7 l-8 0 z" fill="{}"/>"##,
                y0 + lane_h - 4.0,
                colour::FINDING
            );
        }
    }
    frame(&mut out, top, bottom);
    legend(
        &mut out,
        &[
            ("expected raise window", colour::WINDOW_RAISE, "band"),
            ("expected clear window", colour::WINDOW_CLEAR, "band"),
            ("alarms forbidden", colour::FORBIDDEN, "band"),
            ("active: high", colour::HIGH, "line"),
            ("medium", colour::MEDIUM, "line"),
            ("low", colour::LOW, "line"),
            ("harness finding", colour::FINDING, "tri"),
        ],
    );
    out.push_str("</svg>");
    out
}

/// A chart over a numeric x axis (not time): the trumpet curve's percentage errors against
/// observation-window length. Series are drawn as lines with a dot at each point.
#[derive(Debug, Clone, PartialEq)]
pub struct XyChart {
    pub x_label: String,
    pub y_label: String,
    pub height: f64,
    /// (x, y) points in the chart's units.
    pub series: Vec<Series>,
    pub levels: Vec<Level>,
}

pub fn xy_chart(chart: &XyChart) -> String {
    let height = chart.height;
    let (top, bottom) = (TOP + 6.0, height - BOTTOM);
    let points = || chart.series.iter().flat_map(|s| s.points.iter().copied());
    let x_max = points()
        .map(|p| p.0)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let x_step = nice_step(x_max.max(1.0), 6.0);
    let x_hi = ((x_max / x_step).floor() + 1.0) * x_step;
    let (mut lo, mut hi) = points()
        .map(|p| p.1)
        .chain(chart.levels.iter().map(|l| l.value))
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo <= f64::EPSILON {
        (lo, hi) = (lo - 1.0, hi + 1.0);
    }
    let step = nice_step(hi - lo, 5.0);
    lo = (lo / step).floor() * step;
    hi = (hi / step).ceil() * step;
    let x = |v: f64| LEFT + (WIDTH - LEFT - RIGHT) * (v / x_hi).clamp(0.0, 1.0);
    let y = |v: f64| bottom - (bottom - top) * ((v - lo) / (hi - lo)).clamp(-0.02, 1.02);
    let mut out = open(height, &chart.y_label);
    let mut v = lo;
    while v <= hi + step * 1e-6 {
        let _ = write!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" class="grid"/><text x="{2:.1}" y="{3:.1}" class="tick" text-anchor="end">{4}</text>"##,
            y(v),
            WIDTH - RIGHT,
            LEFT - 5.0,
            y(v) + 3.5,
            tick_label(v, step)
        );
        v += step;
    }
    let mut v = 0.0;
    while v <= x_hi + x_step * 1e-6 {
        let _ = write!(
            out,
            r##"<line x1="{0:.1}" y1="{top:.1}" x2="{0:.1}" y2="{bottom:.1}" class="grid"/><text x="{0:.1}" y="{1:.1}" class="tick" text-anchor="middle">{2}</text>"##,
            x(v),
            bottom + 13.0,
            tick_label(v, x_step)
        );
        v += x_step;
    }
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" class="axis" text-anchor="middle">{}</text><text transform="translate(58 {:.1}) rotate(-90)" class="axis" text-anchor="middle">{}</text>"##,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        bottom + 29.0,
        escape(&chart.x_label),
        (top + bottom) / 2.0,
        escape(&chart.y_label)
    );
    for level in &chart.levels {
        let _ = write!(
            out,
            r##"<line x1="{LEFT:.1}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="{2}" stroke-width="1.2" stroke-dasharray="6 3"/>"##,
            y(level.value),
            WIDTH - RIGHT,
            level.colour
        );
    }
    for series in &chart.series {
        let finite: Vec<(f64, f64)> = series
            .points
            .iter()
            .copied()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        let path: Vec<String> = finite
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let dash = if series.dashed {
            r##" stroke-dasharray="5 3""##
        } else {
            ""
        };
        let _ = write!(
            out,
            r##"<polyline points="{}" fill="none" stroke="{}" stroke-width="1.6" stroke-linejoin="round"{dash}/>"##,
            path.join(" "),
            series.colour
        );
        for (a, b) in &finite {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"/>"##,
                x(*a),
                y(*b),
                series.colour
            );
        }
    }
    frame(&mut out, top, bottom);
    let mut items: Vec<(&str, &str, &str)> = Vec::new();
    for s in &chart.series {
        items.push((&s.name, s.colour, if s.dashed { "dash" } else { "line" }));
    }
    for l in &chart.levels {
        items.push((&l.name, l.colour, "dash"));
    }
    legend(&mut out, &items);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(40.0, 5.0), 10.0);
        assert_eq!(nice_step(0.3, 5.0), 0.1);
        assert_eq!(nice_step(0.0, 5.0), 1.0);
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(tick_label(-0.0, 0.1), "0.0");
    }

    #[test]
    fn downsampling_keeps_the_ends_and_the_limit() {
        let points: Vec<u32> = (0..5000).collect();
        let kept = downsample(&points, 600);
        assert_eq!(kept.len(), 600);
        assert_eq!(kept[0], 0);
        assert_eq!(kept[599], 4999);
        assert_eq!(downsample(&points[..10], 600).len(), 10);
    }

    #[test]
    fn axis_switches_to_days_after_three_days() {
        assert_eq!(TimeAxis::new(3 * MS_PER_DAY).unit, "h");
        assert_eq!(TimeAxis::new(3 * MS_PER_DAY + 1).unit, "d");
    }

    #[test]
    fn chart_is_well_formed_and_escapes_labels() {
        let chart = LineChart {
            axis: TimeAxis::new(MS_PER_DAY),
            y_label: "volume (mL) <a&b>".into(),
            height: 240.0,
            series: vec![Series {
                name: "measured".into(),
                colour: colour::BALANCE,
                dashed: false,
                points: (0..2000).map(|i| (i as f64 * 43_200.0, i as f64)).collect(),
            }],
            bands: vec![],
            levels: vec![],
            markers: vec![],
        };
        let svg = line_chart(&chart);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;a&amp;b&gt;"));
        let polyline = svg.split("<polyline points=\"").nth(1).unwrap_or("");
        let count = polyline.split('"').next().unwrap_or("").split(' ').count();
        assert_eq!(count, 600);
    }
}
