//! Bar charts for the overview, drawn on the server as SVG text: no script runs in the page.
//!
//! A chart is a title, the names of its bars (days, weeks) and one or more series of values.
//! Series are stacked (parts of one whole, as messages by outcome) or stand side by side (as
//! points issued, redeemed and expired). Every chart comes with a table of the same figures for
//! screen readers, and every text that goes into either is escaped.

use std::fmt::Write;

/// How the series of a chart share a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One bar per category, the series on top of each other (values must be ≥ 0).
    Stacked,
    /// One thin bar per series within each category; values may be negative.
    SideBySide,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// A fill colour; chosen by the page, never from input.
    pub colour: &'static str,
    /// One value per category.
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// For the `id` of the title (letters, digits and `-` only are kept).
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    pub layout: Layout,
    /// A fixed value range for the axis (as -100 to 100 for an NPS), widened if a value
    /// falls outside it; otherwise the axis spans the values.
    pub fixed: Option<(f64, f64)>,
    /// An extra column in the table only (e.g. the number of NPS answers behind a score).
    pub note: Option<(String, Vec<String>)>,
}

/// The drawing's size in SVG units; the page scales it to its width.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 240.0;
/// Room for the axis labels on the left and at the bottom, and for the legend on top.
pub const LEFT: f64 = 48.0;
pub const BOTTOM: f64 = 28.0;
pub const TOP: f64 = 24.0;

/// A bar as drawn: where it sits and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub category: usize,
    pub series: usize,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// The value range the axis spans: always holds 0, never empty.
pub fn range(chart: &Chart) -> (f64, f64) {
    let (mut low, mut high) = chart.fixed.unwrap_or((0.0, 0.0));
    low = low.min(0.0);
    high = high.max(0.0);
    for i in 0..chart.categories.len() {
        match chart.layout {
            Layout::Stacked => {
                let sum: f64 = chart
                    .series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0).max(0.0))
                    .sum();
                high = high.max(sum);
            }
            Layout::SideBySide => {
                for s in &chart.series {
                    let v = s.values.get(i).copied().unwrap_or(0.0);
                    if v.is_finite() {
                        low = low.min(v);
                        high = high.max(v);
                    }
                }
            }
        }
    }
    if high - low <= 0.0 {
        high = 1.0;
    }
    (low, high)
}

/// The bars of a chart, in SVG units (y grows downwards).
pub fn bars(chart: &Chart) -> Vec<Bar> {
    let (low, high) = range(chart);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let plot_w = WIDTH - LEFT - 8.0;
    let n = chart.categories.len().max(1) as f64;
    let slot = plot_w / n;
    let scale = plot_h / (high - low);
    let zero_y = TOP + high * scale;
    let mut out = Vec::new();
    let value = |s: &Series, i: usize| {
        let v = s.values.get(i).copied().unwrap_or(0.0);
        if v.is_finite() { v } else { 0.0 }
    };
    for i in 0..chart.categories.len() {
        let x0 = LEFT + slot * i as f64 + slot * 0.1;
        let inner = slot * 0.8;
        match chart.layout {
            Layout::Stacked => {
                let mut base = zero_y;
                for (si, s) in chart.series.iter().enumerate() {
                    let h = value(s, i).max(0.0) * scale;
                    base -= h;
                    out.push(Bar {
                        category: i,
                        series: si,
                        x: x0,
                        y: base,
                        width: inner,
                        height: h,
                    });
                }
            }
            Layout::SideBySide => {
                let w = inner / chart.series.len().max(1) as f64;
                for (si, s) in chart.series.iter().enumerate() {
                    let v = value(s, i);
                    let h = v.abs() * scale;
                    out.push(Bar {
                        category: i,
                        series: si,
                        x: x0 + w * si as f64,
                        y: if v >= 0.0 { zero_y - h } else { zero_y },
                        width: w,
                        height: h,
                    });
                }
            }
        }
    }
    out
}

/// Escapes text for SVG and HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The chart as an SVG element: a title, the legend, the axis with its top, zero and bottom,
/// the bars (each with a tooltip), and some category names along the bottom.
pub fn svg(chart: &Chart) -> String {
    let id = safe_id(&chart.id);
    let (low, high) = range(chart);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" id="chart-{id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-{id}-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-{id}-title">{}</title>"#,
        escape(&chart.title)
    );
    // Legend.
    let mut lx = LEFT;
    for serie in &chart.series {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="6" width="10" height="10" fill="{}"/><text x="{}" y="15" font-size="11">{}</text>"#,
            serie.colour,
            lx + 14.0,
            escape(&serie.name)
        );
        lx += 24.0 + 7.0 * serie.name.chars().count() as f64;
    }
    let plot_h = HEIGHT - TOP - BOTTOM;
    let scale = plot_h / (high - low);
    let zero_y = TOP + high * scale;
    for (v, y) in [(high, TOP), (low, TOP + plot_h)] {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="end">{}</text>"#,
            LEFT - 4.0,
            y + 4.0,
            number(v)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{zero_y}" x2="{}" y2="{zero_y}" stroke="#9aa8a3"/>"##,
        WIDTH - 8.0
    );
    for bar in bars(chart) {
        if bar.height <= 0.0 {
            continue;
        }
        let serie = &chart.series[bar.series];
        let value = serie.values.get(bar.category).copied().unwrap_or(0.0);
        let _ = write!(
            s,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"><title>{}: {} {}</title></rect>"#,
            bar.x,
            bar.y,
            bar.width,
            bar.height,
            serie.colour,
            escape(&chart.categories[bar.category]),
            escape(&serie.name),
            number(value)
        );
    }
    // At most about ten category names fit along the bottom.
    let n = chart.categories.len();
    let every = n.div_ceil(10).max(1);
    let slot = (WIDTH - LEFT - 8.0) / n.max(1) as f64;
    for (i, name) in chart.categories.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let _ = write!(
            s,
            r#"<text x="{:.2}" y="{}" font-size="10" text-anchor="middle">{}</text>"#,
            LEFT + slot * (i as f64 + 0.5),
            HEIGHT - 10.0,
            escape(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// The same figures as a table, for screen readers and for reading exact numbers.
pub fn table(chart: &Chart) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<table class="chart-table" id="chart-{}-table"><caption>{}</caption><thead><tr><th scope="col"></th>"#,
        safe_id(&chart.id),
        escape(&chart.title)
    );
    for serie in &chart.series {
        let _ = write!(
            s,
            r#"<th scope="col" class="num">{}</th>"#,
            escape(&serie.name)
        );
    }
    if let Some((name, _)) = &chart.note {
        let _ = write!(s, r#"<th scope="col" class="num">{}</th>"#, escape(name));
    }
    s.push_str("</tr></thead><tbody>");
    for (i, category) in chart.categories.iter().enumerate() {
        let _ = write!(s, r#"<tr><th scope="row">{}</th>"#, escape(category));
        for serie in &chart.series {
            let v = serie.values.get(i).copied().unwrap_or(0.0);
            let _ = write!(s, r#"<td class="num">{}</td>"#, number(v));
        }
        if let Some((_, notes)) = &chart.note {
            let _ = write!(
                s,
                r#"<td class="num">{}</td>"#,
                escape(notes.get(i).map_or("", String::as_str))
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(layout: Layout, a: Vec<f64>, b: Vec<f64>) -> Chart {
        Chart {
            id: "t".into(),
            title: "Test".into(),
            categories: (0..a.len()).map(|i| format!("d{i}")).collect(),
            series: vec![
                Series {
                    name: "a".into(),
                    colour: "#111",
                    values: a,
                },
                Series {
                    name: "b".into(),
                    colour: "#222",
                    values: b,
                },
            ],
            layout,
            fixed: None,
            note: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn stacked_bars_sit_on_each_other_and_the_tallest_fills_the_plot() {
        // Plot: 720 - 48 - 8 = 664 wide, 240 - 24 - 28 = 188 high; two slots of 332.
        let c = chart(Layout::Stacked, vec![2.0, 1.0], vec![2.0, 0.0]);
        assert_eq!(range(&c), (0.0, 4.0));
        let b = bars(&c);
        assert_eq!(b.len(), 4);
        // Day 0: a is 2 of 4 (94 high) on the axis at 212; b on top of it, up to the top (24).
        assert!(close(b[0].x, 48.0 + 33.2) && close(b[0].width, 265.6));
        assert!(close(b[0].height, 94.0) && close(b[0].y, 212.0 - 94.0));
        assert!(close(b[1].y, 24.0) && close(b[1].height, 94.0));
        // Day 1: a is 1 (47 high); b is empty.
        assert!(close(b[2].x, 48.0 + 332.0 + 33.2));
        assert!(close(b[2].height, 47.0) && close(b[2].y, 212.0 - 47.0));
        assert!(close(b[3].height, 0.0));
    }

    #[test]
    fn side_by_side_bars_go_below_the_zero_line_for_negative_values() {
        let c = chart(Layout::SideBySide, vec![50.0], vec![-50.0]);
        assert_eq!(range(&c), (-50.0, 50.0));
        let b = bars(&c);
        // Zero sits halfway: 24 + 94 = 118. Each bar is half of the inner 531.2.
        assert!(close(b[0].y, 24.0) && close(b[0].height, 94.0));
        assert!(close(b[1].y, 118.0) && close(b[1].height, 94.0));
        assert!(close(b[1].x - b[0].x, 265.6) && close(b[0].width, 265.6));
    }

    #[test]
    fn a_fixed_range_holds_when_the_values_fit_and_widens_when_they_do_not() {
        let mut c = chart(Layout::SideBySide, vec![10.0], vec![-20.0]);
        c.fixed = Some((-100.0, 100.0));
        assert_eq!(range(&c), (-100.0, 100.0));
        // Zero halfway (118); 10 of 200 over 188 is 9.4 high.
        assert!(close(bars(&c)[0].y, 118.0 - 9.4));
        c.series[0].values = vec![150.0];
        assert_eq!(range(&c), (-100.0, 150.0));
    }

    #[test]
    fn an_empty_or_all_zero_chart_draws_no_bars_and_divides_by_nothing() {
        let c = chart(Layout::Stacked, vec![0.0, 0.0], vec![0.0, 0.0]);
        assert_eq!(range(&c), (0.0, 1.0));
        let svg = svg(&c);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(svg.matches("<rect").count(), 2, "only the legend: {svg}");
        let none = chart(Layout::SideBySide, vec![], vec![]);
        assert!(bars(&none).is_empty());
        assert!(svg_is_balanced(&super::svg(&none)));
    }

    fn svg_is_balanced(s: &str) -> bool {
        s.starts_with("<svg") && s.ends_with("</svg>")
    }

    #[test]
    fn every_label_is_escaped_in_the_drawing_and_the_table() {
        let mut c = chart(Layout::Stacked, vec![1.0], vec![2.0]);
        c.title = "<script>alert(1)</script>".into();
        c.categories = vec!["\"><img src=x onerror=alert(1)>".into()];
        c.series[0].name = "a & b".into();
        c.id = "x\" onload=\"alert(1)".into();
        c.note = Some(("<n>".into(), vec!["<i>".into()]));
        for out in [svg(&c), table(&c)] {
            assert!(!out.contains("<script"), "{out}");
            assert!(!out.contains("<img"), "{out}");
            assert!(out.contains("&quot;&gt;&lt;img src=x"), "{out}");
            assert!(!out.contains("onload=\""), "{out}");
            assert!(!out.contains("<n>") && !out.contains("<i>"), "{out}");
            assert!(out.contains("a &amp; b"), "{out}");
        }
        assert!(svg(&c).contains("<title id=\"chart-xonloadalert1-title\">&lt;script&gt;"));
        assert!(table(&c).contains("<caption>&lt;script&gt;alert(1)&lt;/script&gt;</caption>"));
    }

    #[test]
    fn the_table_holds_every_value_and_the_note() {
        let mut c = chart(Layout::SideBySide, vec![1.0, 2.5], vec![3.0, -4.0]);
        c.note = Some(("answers".into(), vec!["7".into(), "9".into()]));
        let t = table(&c);
        assert!(t.contains(r#"<tr><th scope="row">d1</th><td class="num">2.5</td><td class="num">-4</td><td class="num">9</td></tr>"#), "{t}");
        assert_eq!(t.matches("<tr>").count(), 3);
    }
}
