//! `report.md`: the same report as GitHub-flavoured Markdown for pull requests and wikis.
//! Plots are only in report.html; each is named here by its caption.

use super::doc::{Block, Cell, Table, Tone};
use super::html::Masthead;
use std::fmt::Write;

fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

fn marker(tone: Tone) -> &'static str {
    match tone {
        Tone::Pass => "✅ ",
        Tone::Fail => "❌ ",
        Tone::Control => "🛡️ ",
        Tone::Warn => "⚠️ ",
        Tone::Neutral => "",
    }
}

fn cell(c: &Cell) -> String {
    let text = if c.mono && !c.text.contains('`') && !c.text.is_empty() {
        format!("`{}`", c.text.replace(['\n', '\r'], " "))
    } else {
        inline(&c.text)
    };
    let text = match c.tone {
        Some(Tone::Fail | Tone::Warn | Tone::Control) => {
            format!("{}**{text}**", marker(c.tone.unwrap_or(Tone::Neutral)))
        }
        Some(tone) => format!("{}{text}", marker(tone)),
        None => text,
    };
    text.replace('|', "\\|")
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "| {} |",
        t.head
            .iter()
            .map(|h| inline(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(t.head.len()));
    for row in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            row.iter().map(cell).collect::<Vec<_>>().join(" | ")
        );
    }
    out.push('\n');
    let details: Vec<(usize, &String)> = t
        .details
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.as_ref().map(|d| (i, d)))
        .collect();
    if !details.is_empty() {
        out.push_str("<details><summary>Details</summary>\n\n");
        for (i, d) in details {
            let name = t.rows[i].first().map(|c| c.text.as_str()).unwrap_or("");
            let _ = writeln!(out, "- `{}`: {}", name.replace('`', ""), inline(d));
        }
        out.push_str("\n</details>\n\n");
    }
}

pub fn block(out: &mut String, b: &Block) {
    match b {
        Block::Heading {
            level,
            text,
            badge,
            anchor,
        } => {
            if let Some(anchor) = anchor {
                let _ = writeln!(out, "<a id=\"{anchor}\"></a>\n");
            }
            let hashes = "#".repeat((*level as usize + 1).min(6));
            let badge = badge
                .as_ref()
                .map(|(label, tone)| format!(" — {}{}", marker(*tone), inline(label)))
                .unwrap_or_default();
            let _ = writeln!(out, "{hashes} {}{badge}\n", inline(text));
        }
        Block::Para(text) => {
            let _ = writeln!(out, "{}\n", inline(text));
        }
        Block::Small(text) => {
            let _ = writeln!(out, "<sub>{}</sub>\n", inline(text));
        }
        Block::Callout { tone, title, lines } => {
            let kind = match tone {
                Tone::Fail => "CAUTION",
                Tone::Warn => "WARNING",
                Tone::Control => "NOTE",
                Tone::Pass | Tone::Neutral => "NOTE",
            };
            let _ = writeln!(out, "> [!{kind}]\n> **{}**", inline(title));
            for line in lines {
                let _ = writeln!(out, ">\n> {}", inline(line));
            }
            out.push('\n');
        }
        Block::Facts { title, rows } => {
            let _ = writeln!(out, "**{}**\n", inline(title));
            out.push_str("| | |\n|---|---|\n");
            for (label, value) in rows {
                let _ = writeln!(
                    out,
                    "| {} | {} |",
                    inline(label).replace('|', "\\|"),
                    cell(value)
                );
            }
            out.push('\n');
        }
        Block::Grid(blocks) => {
            for b in blocks {
                block(out, b);
            }
        }
        Block::Table(t) => table(out, t),
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", inline(item));
            }
            out.push('\n');
        }
        Block::Figure {
            caption,
            file: Some(file),
            ..
        } => {
            // The alt text is the caption's title (before its colon); the caption follows.
            let title = caption.split(':').next().unwrap_or(caption);
            let _ = writeln!(
                out,
                "![{}]({file})\n",
                inline(title).replace(['[', ']'], "")
            );
            let _ = writeln!(out, "<sub>{}</sub>\n", inline(caption));
        }
        Block::Figure { caption, .. } => {
            let _ = writeln!(out, "*Figure (in report.html):* {}\n", inline(caption));
        }
        Block::Signatures(slots) => {
            out.push_str("| | Name | Meaning | Signed (UTC) | Key |\n|---|---|---|---|---|\n");
            for slot in slots {
                if slot.signed.is_empty() {
                    let _ = writeln!(out, "| **{}** | | | | |", inline(&slot.heading));
                }
                for [name, meaning, utc, key, _] in &slot.signed {
                    let _ = writeln!(
                        out,
                        "| **{}** | {} | {} | {} | `{}` |",
                        inline(&slot.heading),
                        inline(name).replace('|', "\\|"),
                        inline(meaning).replace('|', "\\|"),
                        inline(utc),
                        key.replace('`', "")
                    );
                }
            }
            out.push('\n');
        }
        Block::PageBreak => {}
        Block::Contents(entries) => {
            let _ = writeln!(out, "**Contents**\n");
            for (level, text, anchor) in entries {
                let indent = "  ".repeat((*level as usize).saturating_sub(1));
                let _ = writeln!(out, "{indent}- [{}](#{anchor})", inline(text));
            }
            out.push('\n');
        }
        Block::Verdict { label, lines, .. } => {
            // The verdict word alone, as every output writes it, so the line can be searched for.
            let _ = writeln!(out, "## Overall verdict: {}\n", inline(label));
            for line in lines {
                let _ = writeln!(out, "{}  ", inline(line));
            }
            out.push('\n');
        }
    }
}

pub fn render(masthead: &Masthead, blocks: &[Block]) -> String {
    let mut out = prologue(masthead);
    let mark = expired_mark(masthead);
    for b in blocks {
        block(&mut out, b);
        if let (Some(mark), true) = (&mark, marked(b)) {
            out.push_str(mark);
        }
    }
    end(&mut out);
    out
}

/// The document up to its first block: title, run and the marks every page carries.
pub fn prologue(masthead: &Masthead) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = writeln!(
        out,
        "# {}\n\n{}  \nRun `{}` · {}\n",
        inline(&masthead.title),
        inline(&masthead.subtitle),
        masthead.run_id.replace('`', ""),
        inline(&masthead.signed_by)
    );
    if let Some(reason) = &masthead.not_verified {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> **NOT VERIFIED:** {}\n",
            inline(reason)
        );
    }
    if let Some(mark) = expired_mark(masthead) {
        out.push_str(&mark);
    }
    out
}

/// The expired-calibration mark, repeated after each top-level heading: each top-level
/// section prints as pages of its own, and each says it too.
pub fn expired_mark(masthead: &Masthead) -> Option<String> {
    masthead
        .expired_calibration
        .as_ref()
        .map(|mark| format!("> [!CAUTION]\n> **{}**\n\n", inline(mark)))
}

/// Whether the expired-calibration mark follows this block (a top-level heading).
pub fn marked(b: &Block) -> bool {
    matches!(b, Block::Heading { level: 0 | 1, .. })
}

/// The document's end: no blank lines after its last block.
pub fn end(out: &mut String) {
    while out.ends_with("\n\n") {
        out.pop();
    }
}
