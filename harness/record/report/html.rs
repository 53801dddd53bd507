//! `report.html`: one self-contained page (inline CSS and SVG) that prints cleanly on A4 or Letter.
//!
//! The paper size is left to the print dialog; the layout is width-agnostic so both fit. Every
//! printed page carries the run id and page number through CSS page-margin boxes.

use super::doc::{Block, Cell, Table};
use super::svg::escape;
use std::fmt::Write;

/// Header text for the document: title line, subtitle, and what repeats on every page.
pub struct Masthead {
    pub title: String,
    pub subtitle: String,
    pub run_id: String,
    pub unit: String,
    /// Who signed the record: "station key <fingerprint>" or "unsigned run".
    pub signed_by: String,
    /// Set when the record does not verify (`report --force`): every page says so.
    pub not_verified: Option<String>,
    /// Set when the run used a balance past its calibration date
    /// (`--allow-expired-calibration`): every page says so.
    pub expired_calibration: Option<String>,
}

const STYLE: &str = r#"
:root { --ink: #1a1a1a; --muted: #5a5a5a; --rule: #c8c8c8; --head: #eef0f3;
  --pass: #1b6e3a; --pass-bg: #e5f3ea; --fail: #a4231b; --fail-bg: #fbe7e5;
  --control: #4b3590; --control-bg: #ece7f8; --warn: #7a4f00; --warn-bg: #fff3d1;
  --neutral: #444; --neutral-bg: #efefef; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
  font-size: 9.5pt; line-height: 1.38; color: var(--ink); margin: 0 auto; max-width: 200mm; padding: 8mm 6mm; }
.runbar { font-size: 8pt; color: var(--muted); border-bottom: 1px solid var(--rule); padding-bottom: 2mm; margin-bottom: 4mm; display: flex; justify-content: space-between; }
h1, h2, h3 { font-weight: 600; line-height: 1.2; break-after: avoid; }
h1.cover-title { font-size: 22pt; margin: 14mm 0 1mm; letter-spacing: -0.01em; }
.subtitle { font-size: 12pt; color: var(--muted); margin: 0 0 8mm; }
h1.section { font-size: 15pt; margin: 0 0 3mm; padding-bottom: 1.5mm; border-bottom: 2px solid var(--ink); break-before: page; display: flex; justify-content: space-between; align-items: baseline; gap: 4mm; }
h2 { font-size: 11.5pt; margin: 5mm 0 2mm; }
p { margin: 0 0 2.5mm; }
.small { font-size: 8pt; color: var(--muted); }
nav.contents { margin: 4mm 0; } nav.contents .title { font-weight: 700; }
nav.contents ul { list-style: none; padding-left: 0; margin: 1mm 0; columns: 2; } nav.contents li.l2 { padding-left: 5mm; }
.badge { font-size: 9pt; font-weight: 700; padding: 0.8mm 2.5mm; border-radius: 1mm; white-space: nowrap; border: 1px solid currentColor; }
.pass { color: var(--pass); } .fail { color: var(--fail); } .control { color: var(--control); } .warn { color: var(--warn); } .neutral { color: var(--neutral); }
.badge.pass, .callout.pass, td.pass { background: var(--pass-bg); }
.badge.fail, .callout.fail, td.fail { background: var(--fail-bg); }
.badge.control, .callout.control, td.control { background: var(--control-bg); }
.badge.warn, .callout.warn, td.warn { background: var(--warn-bg); }
.badge.neutral, .callout.neutral, td.neutral { background: var(--neutral-bg); }
td.pass, td.fail, td.control, td.warn, td.neutral { font-weight: 600; }
.verdict { border: 2px solid currentColor; border-radius: 2mm; padding: 4mm 6mm; margin: 0 0 6mm; break-inside: avoid; }
.verdict .label { font-size: 26pt; font-weight: 800; letter-spacing: 0.02em; }
.verdict .caption { font-size: 8pt; text-transform: uppercase; letter-spacing: 0.08em; color: var(--muted); }
.verdict p { color: var(--ink); margin: 1mm 0 0; }
.verdict.pass { background: var(--pass-bg); } .verdict.fail { background: var(--fail-bg); } .verdict.warn { background: var(--warn-bg); }
.callout { border-left: 1.2mm solid currentColor; padding: 2mm 4mm; margin: 0 0 3mm; break-inside: avoid; }
.callout .title { font-weight: 700; }
.callout p { color: var(--ink); margin: 0.8mm 0 0; }
.grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 4mm; margin: 0 0 3mm; }
.facts { break-inside: avoid; }
.facts h3 { font-size: 9pt; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0 0 1mm; border-bottom: 1px solid var(--rule); padding-bottom: 0.8mm; }
.facts table { width: 100%; border-collapse: collapse; }
.facts th { text-align: left; font-weight: 600; width: 36%; padding: 0.6mm 2mm 0.6mm 0; vertical-align: top; color: var(--muted); }
.facts td { padding: 0.6mm 0; vertical-align: top; }
table.data { width: 100%; border-collapse: collapse; margin: 0 0 3mm; font-size: 8.5pt; }
table.data thead { display: table-header-group; }
table.data th { background: var(--head); text-align: left; font-weight: 600; padding: 1.2mm 1.5mm; border-bottom: 1px solid #999; }
table.data td { padding: 1.1mm 1.5mm; border-bottom: 1px solid var(--rule); vertical-align: top; }
table.data tbody { break-inside: avoid; }
table.data tr.detail td { border-top: none; padding-top: 0; color: var(--muted); font-size: 7.5pt; }
table.data tbody.has-detail tr:first-child td { border-bottom: none; }
.mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 0.92em; overflow-wrap: anywhere; word-break: break-word; }
table.files td.mono { font-size: 7.5pt; }
table.files td:last-child { white-space: nowrap; font-size: 6.6pt; width: 1%; }
ul { margin: 0 0 3mm; padding-left: 5mm; }
figure { margin: 0 0 4mm; break-inside: avoid; }
figcaption { font-size: 8pt; color: var(--muted); margin-top: 1mm; }
svg.plot { width: 100%; height: auto; display: block; font-family: inherit; }
svg .grid { stroke: #e3e3e3; stroke-width: 0.8; } svg .frame { fill: none; stroke: #8a8a8a; stroke-width: 0.8; }
svg .tick { font-size: 9px; fill: #333; } svg .axis { font-size: 10px; fill: #333; } svg .legend { font-size: 9.5px; fill: #222; }
.signatures { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 5mm; margin-top: 4mm; break-inside: avoid; }
.signature { border: 1px solid var(--rule); padding: 3mm; }
.signature .role { font-weight: 700; margin-bottom: 4mm; }
.signature .line { border-bottom: 1px solid var(--ink); height: 9mm; }
.signature .esig { font-size: 8pt; margin: 0 0 2mm; padding: 1.5mm; background: var(--pass-bg); }
.notverified { color: var(--fail); background: var(--fail-bg); border: 2px solid currentColor; font-weight: 700; padding: 2mm 4mm; margin: 0 0 4mm; }
.signature .what { font-size: 7.5pt; color: var(--muted); margin: 0.5mm 0 2mm; }
@media print { body { max-width: none; padding: 0; } .screen-only { display: none; } }
"#;

fn css_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn page_rules(m: &Masthead) -> String {
    format!(
        r#"@page {{ margin: 17mm 14mm 15mm 14mm;
  @top-left {{ content: "{title}"; font: 7.5pt Arial, "Liberation Sans", sans-serif; color: #5a5a5a; }}
  @top-right {{ content: "Run {run}"; font: 7.5pt "DejaVu Sans Mono", monospace; color: #1a1a1a; }}
  @bottom-left {{ content: "{unit} · {signed}"; font: 7.5pt Arial, "Liberation Sans", sans-serif; color: #5a5a5a; }}{banner}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font: 7.5pt Arial, "Liberation Sans", sans-serif; color: #5a5a5a; }} }}"#,
        title = css_string(&m.title),
        run = css_string(&m.run_id),
        unit = css_string(&m.unit),
        signed = css_string(&m.signed_by),
        banner = banner(m),
    )
}

/// The running header's centre: what no printed page may leave out (a record that does not
/// verify, a balance past its calibration date).
fn banner(m: &Masthead) -> String {
    let marks: Vec<String> = [
        m.not_verified
            .as_ref()
            .map(|reason| format!("NOT VERIFIED: {reason}")),
        m.expired_calibration.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if marks.is_empty() {
        return String::new();
    }
    format!(
        "\n  @top-center {{ content: \"{}\"; font: bold 8pt Arial, \"Liberation Sans\", sans-serif; color: #a4231b; }}",
        css_string(&marks.join(" · "))
    )
}

fn cell(out: &mut String, c: &Cell) {
    let mut classes = Vec::new();
    if let Some(t) = c.tone {
        classes.push(t.class());
    }
    if c.mono {
        classes.push("mono");
    }
    let class = if classes.is_empty() {
        String::new()
    } else {
        format!(r#" class="{}""#, classes.join(" "))
    };
    let _ = write!(out, "<td{class}>{}</td>", escape(&c.text));
}

fn table(out: &mut String, t: &Table) {
    let _ = write!(out, r#"<table class="data {}"><thead><tr>"#, t.class);
    for h in &t.head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>");
    for (row, detail) in t.rows.iter().zip(&t.details) {
        out.push_str(if detail.is_some() {
            r#"<tbody class="has-detail"><tr>"#
        } else {
            "<tbody><tr>"
        });
        for c in row {
            cell(out, c);
        }
        out.push_str("</tr>");
        if let Some(d) = detail {
            let _ = write!(
                out,
                r#"<tr class="detail"><td colspan="{}">{}</td></tr>"#,
                t.head.len(),
                escape(d)
            );
        }
        out.push_str("</tbody>");
    }
    out.push_str("</table>\n");
}

pub fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading {
            level,
            text,
            anchor,
            badge,
        } => {
            let id = anchor
                .as_ref()
                .map(|a| format!(r#" id="{}""#, escape(a)))
                .unwrap_or_default();
            let badge = badge
                .as_ref()
                .map(|(label, tone)| {
                    format!(
                        r#"<span class="badge {}">{}</span>"#,
                        tone.class(),
                        escape(label)
                    )
                })
                .unwrap_or_default();
            if *level <= 1 {
                let _ = writeln!(
                    out,
                    r#"<h1 class="section"{id}><span>{}</span>{badge}</h1>"#,
                    escape(text)
                );
            } else {
                let _ = writeln!(out, "<h2{id}>{}{badge}</h2>", escape(text));
            }
        }
        Block::Para(text) => {
            let _ = writeln!(out, "<p>{}</p>", escape(text));
        }
        Block::Small(text) => {
            let _ = writeln!(out, r#"<p class="small">{}</p>"#, escape(text));
        }
        Block::Callout { tone, title, lines } => {
            let _ = write!(
                out,
                r#"<div class="callout {}"><div class="title">{}</div>"#,
                tone.class(),
                escape(title)
            );
            for line in lines {
                let _ = write!(out, "<p>{}</p>", escape(line));
            }
            out.push_str("</div>\n");
        }
        Block::Facts { title, rows } => {
            let _ = write!(
                out,
                r#"<div class="facts"><h3>{}</h3><table>"#,
                escape(title)
            );
            for (label, value) in rows {
                let _ = write!(out, "<tr><th>{}</th>", escape(label));
                cell(out, value);
                out.push_str("</tr>");
            }
            out.push_str("</table></div>\n");
        }
        Block::Grid(blocks) => {
            out.push_str(r#"<div class="grid">"#);
            for b in blocks {
                block(out, b);
            }
            out.push_str("</div>\n");
        }
        Block::Table(t) => table(out, t),
        Block::List(items) => {
            out.push_str("<ul>");
            for item in items {
                let _ = write!(out, "<li>{}</li>", escape(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Figure { svg, caption, .. } => {
            let _ = writeln!(
                out,
                "<figure>{svg}<figcaption>{}</figcaption></figure>",
                escape(caption)
            );
        }
        Block::Signatures(slots) => {
            out.push_str(r#"<div class="signatures">"#);
            for slot in slots {
                let _ = write!(
                    out,
                    r#"<div class="signature"><div class="role">{}</div>"#,
                    escape(&slot.heading)
                );
                if !slot.signed.is_empty() {
                    for [name, meaning, utc, key, line] in &slot.signed {
                        let _ = write!(
                            out,
                            r#"<div class="esig"><b>{}</b> · signed electronically<br>Meaning: {}<br><span class="mono">{} UTC · key {} · linked to record line {}</span></div>"#,
                            escape(name),
                            escape(meaning),
                            escape(utc),
                            escape(key),
                            escape(line)
                        );
                    }
                    out.push_str("</div>");
                    continue;
                }
                for what in ["Name", "Role", "Signature", "Date (YYYY-MM-DD)"] {
                    let _ = write!(
                        out,
                        r#"<div class="line"></div><div class="what">{what}</div>"#
                    );
                }
                out.push_str("</div>");
            }
            out.push_str("</div>\n");
        }
        Block::PageBreak => out.push_str(r#"<div style="break-after: page"></div>"#),
        Block::Contents(entries) => {
            out.push_str("<nav class=\"contents\"><div class=\"title\">Contents</div><ul>\n");
            for (level, text, anchor) in entries {
                let _ = writeln!(
                    out,
                    r##"<li class="l{level}"><a href="#{}">{}</a></li>"##,
                    escape(anchor),
                    escape(text)
                );
            }
            out.push_str("</ul></nav>\n");
        }
        Block::Verdict { label, tone, lines } => {
            let _ = write!(
                out,
                r#"<div class="verdict {0}"><div class="label {0}">Overall verdict: {1}</div>"#,
                tone.class(),
                escape(label)
            );
            for line in lines {
                let _ = write!(out, "<p>{}</p>", escape(line));
            }
            out.push_str("</div>\n");
        }
    }
}

pub fn render(masthead: &Masthead, blocks: &[Block]) -> String {
    let mut out = prologue(masthead);
    for b in blocks {
        block(&mut out, b);
    }
    out.push_str(EPILOGUE);
    out
}

/// What closes the page after the last block.
pub const EPILOGUE: &str = "</body>\n</html>\n";

/// The page up to its first block: head, style, run bar and title.
pub fn prologue(masthead: &Masthead) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — run {}</title>\n<style>{STYLE}{}\n</style>\n</head>\n<body>\n",
        escape(&masthead.title),
        escape(&masthead.run_id),
        page_rules(masthead)
    );
    let _ = write!(
        out,
        r#"<div class="runbar screen-only"><span>{}</span><span class="mono">Run {} · {}</span></div>"#,
        escape(&masthead.title),
        escape(&masthead.run_id),
        escape(&masthead.signed_by)
    );
    if let Some(reason) = &masthead.not_verified {
        let _ = write!(
            out,
            r#"<div class="notverified">NOT VERIFIED: {}</div>"#,
            escape(reason)
        );
    }
    if let Some(mark) = &masthead.expired_calibration {
        let _ = write!(out, r#"<div class="notverified">{}</div>"#, escape(mark));
    }
    let _ = write!(
        out,
        "\n<h1 class=\"cover-title\">{}</h1>\n<p class=\"subtitle\">{}</p>\n",
        escape(&masthead.title),
        escape(&masthead.subtitle)
    );
    out
}
