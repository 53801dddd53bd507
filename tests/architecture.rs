//! The architecture, read from the sources: no module under harness/ imports from a layer above
//! its own, only the command line uses clap, and every source file opens with a `//!` line
//! saying what it is for.
//!
//! Layers, lowest first (issue 10 §4): units and protocol → link → driver and emulator →
//! scenario (input files) → expect (reference arithmetic, pharmacokinetics) → checks → record →
//! render (`record::render`, `record::report`) → runner → cli. A module may use its own layer and
//! any layer below it.
//!
//! The scan is deliberately simple, with no parser crate: comments and literals are blanked out,
//! then every `use` tree and every path in code that starts with `crate::`, `super::`, `self::`,
//! a child module declared in the file or a module the file imported by name is resolved to a
//! module and so to a layer.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    UnitsProtocol,
    Link,
    DriverEmulator,
    Scenario,
    Expect,
    /// The record's data types (`record::schema`), which the checks produce.
    Schema,
    Checks,
    Record,
    Render,
    Runner,
    Cli,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::UnitsProtocol => "units/protocol",
            Layer::Link => "link",
            Layer::DriverEmulator => "driver/emulator",
            Layer::Scenario => "scenario",
            Layer::Expect => "expect",
            Layer::Schema => "record schema",
            Layer::Checks => "checks",
            Layer::Record => "record",
            Layer::Render => "render",
            Layer::Runner => "runner",
            Layer::Cli => "cli",
        })
    }
}

/// The layer of a top-level module, or `None` for a module nobody has placed yet.
fn top_layer(module: &str, second: Option<&str>) -> Option<Layer> {
    Some(match module {
        "units" | "protocol" => Layer::UnitsProtocol,
        "link" => Layer::Link,
        "driver" | "emulator" => Layer::DriverEmulator,
        "scenario" => Layer::Scenario,
        "expect" => Layer::Expect,
        "checks" => Layer::Checks,
        // The renderers live inside `record` for now; they are a layer of their own.
        "record" if matches!(second, Some("render" | "report")) => Layer::Render,
        // The record's data types (samples, check results, the scenario as run) sit below the
        // checks, which produce them; the rest of the record folds and writes them.
        "record" if second == Some("schema") => Layer::Schema,
        "record" => Layer::Record,
        "runner" => Layer::Runner,
        "cli" => Layer::Cli,
        _ => return None,
    })
}

/// The layer of an imported path (module path without the leading `crate`). Items of the crate
/// root (`crate::VERSION`) are shared by everyone and count as the lowest layer.
fn layer_of_import(path: &[String]) -> Layer {
    match path.first() {
        Some(first) => {
            top_layer(first, path.get(1).map(String::as_str)).unwrap_or(Layer::UnitsProtocol)
        }
        None => Layer::UnitsProtocol,
    }
}

/// Imports known to break the rule that other work in progress on issue 10 removes. Each entry
/// is one file and the path it imports (a prefix: `crate::cli::exit` covers
/// `crate::cli::exit::CODE`). An entry that no longer matches anything fails the test, so that
/// it is deleted as soon as its import goes.
const PENDING: &[(&str, &str, &str)] = &[];

struct SourceFile {
    /// Relative to the repository root, with `/` separators: `harness/protocol/frame.rs`.
    path: String,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    layer: Layer,
    imported: String,
    imported_layer: Layer,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: imports `{}` from the {} layer, above this file's {} layer",
            self.file, self.line, self.imported, self.imported_layer, self.layer
        )
    }
}

/// What the scan found: imports that break the rule, and files it could not place.
#[derive(Debug, Default)]
struct Findings {
    violations: Vec<Violation>,
    unplaced: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Source text: comments and literals blanked, then tokens with their line numbers.

/// The source with comments, string, byte-string and char literals replaced by spaces; line
/// breaks are kept so that line numbers stay right.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"..." or r#"..."# (or br...): ends at a quote followed by as many hashes.
            let open = i + hashes.1;
            for &ch in &chars[i..=open] {
                blank(&mut out, ch);
            }
            i = open + 1;
            while i < chars.len() {
                let closes =
                    chars[i] == '"' && (1..=hashes.0).all(|k| chars.get(i + k) == Some(&'#'));
                if closes {
                    for _ in 0..=hashes.0 {
                        out.push(' ');
                    }
                    i += hashes.0 + 1;
                    break;
                }
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At a raw string's `r` (or `br`): the number of hashes and the offset of the opening quote.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let previous_is_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if previous_is_ident {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|c| **c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some((hashes, j + hashes - i))
}

/// A quote starts a char literal (`'a'`, `'\n'`), not a lifetime (`'a`).
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    /// Offset in characters, the same in the source and in `code_only` of it.
    pos: usize,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i;
        let tok = if c == '\n' {
            line += 1;
            i += 1;
            continue;
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                line,
                pos,
            });
            continue;
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Other('0'),
                line,
                pos,
            });
            continue;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            i += 1;
            Tok::PathSep
        } else {
            match c {
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                ';' => Tok::Semi,
                '*' => Tok::Star,
                other => Tok::Other(other),
            }
        };
        i += 1;
        out.push(Token { tok, line, pos });
    }
    out
}

/// The tokens of the code in `text`, made once per text for the whole test binary: most tests
/// check the real tree with one file changed, and tokenizing the tree was most of their time.
fn code_tokens(text: &str) -> Arc<Vec<Token>> {
    static MADE: OnceLock<Mutex<HashMap<String, Arc<Vec<Token>>>>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    if let Some(tokens) = made.lock().unwrap().get(text) {
        return tokens.clone();
    }
    let tokens = Arc::new(tokens(&code_only(text)));
    made.lock()
        .unwrap()
        .insert(text.to_string(), tokens.clone());
    tokens
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(name)) => Some(name),
        _ => None,
    }
}

fn is(tokens: &[Token], i: usize, tok: &Tok) -> bool {
    tokens.get(i).map(|t| &t.tok) == Some(tok)
}

// ---------------------------------------------------------------------------------------------
// Paths: `use` trees expanded, paths in code collected, both resolved to modules.

/// One path as written: its segments, the line of its last segment, the inline modules
/// (`mod tests { … }`) it sits in, and for a `use` leaf the name it binds.
#[derive(Debug, Clone)]
struct WrittenPath {
    segments: Vec<String>,
    line: usize,
    inline: Vec<String>,
    binds: Option<String>,
}

/// Expands the use tree starting at `i`, with `prefix` already written; returns the index after it.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: Vec<String>,
    inline: &[String],
    out: &mut Vec<WrittenPath>,
) -> usize {
    let mut segments = prefix;
    let mut line = tokens.get(i).map(|t| t.line).unwrap_or(0);
    let mut leaf = |segments: Vec<String>, line, binds| {
        out.push(WrittenPath {
            segments,
            line,
            inline: inline.to_vec(),
            binds,
        })
    };
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(name)) => {
                segments.push(name.clone());
                line = tokens[i].line;
                i += 1;
                if is(tokens, i, &Tok::PathSep) {
                    i += 1;
                    continue;
                }
                let mut binds = segments.last().cloned();
                if binds.as_deref() == Some("self") {
                    binds = segments.iter().rev().nth(1).cloned();
                }
                if ident(tokens, i) == Some("as") {
                    binds = ident(tokens, i + 1).map(str::to_string);
                    i += 2;
                }
                leaf(segments, line, binds);
                return i;
            }
            Some(Tok::Star) => {
                leaf(segments, line, None);
                return i + 1;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    if is(tokens, i, &Tok::Close) {
                        return i + 1;
                    }
                    let before = i;
                    i = use_tree(tokens, i, segments.clone(), inline, out);
                    if is(tokens, i, &Tok::Comma) {
                        i += 1;
                    } else if is(tokens, i, &Tok::Close) {
                        return i + 1;
                    } else if i == before || i >= tokens.len() {
                        return i;
                    }
                }
            }
            // A leading `::` (`use ::std::…`) names an external crate: nothing of ours.
            Some(Tok::PathSep) if segments.is_empty() => {
                i += 1;
                segments.push("::".into());
            }
            _ => return i,
        }
    }
}

/// Every `use` leaf, and every other path in code that starts with a segment followed by `::`.
fn written_paths(tokens: &[Token]) -> (Vec<WrittenPath>, Vec<WrittenPath>) {
    let (mut uses, mut paths) = (Vec::new(), Vec::new());
    // Inline modules we are in, with the brace depth of their body.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let names: Vec<String> = inline.iter().map(|(name, _)| name.clone()).collect();
        match &tokens[i].tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        if ident(tokens, i) == Some("mod") && is(tokens, i + 2, &Tok::Open) {
            if let Some(name) = ident(tokens, i + 1) {
                inline.push((name.to_string(), depth + 1));
            }
        }
        if ident(tokens, i) == Some("use") {
            i = use_tree(tokens, i + 1, Vec::new(), &names, &mut uses).max(i + 1);
            continue;
        }
        let starts_path = ident(tokens, i).is_some()
            && is(tokens, i + 1, &Tok::PathSep)
            && !(i > 0 && is(tokens, i - 1, &Tok::PathSep));
        if starts_path {
            let mut segments = vec![ident(tokens, i).unwrap_or_default().to_string()];
            let mut line = tokens[i].line;
            let mut j = i + 1;
            while is(tokens, j, &Tok::PathSep) {
                match ident(tokens, j + 1) {
                    Some(name) => {
                        segments.push(name.to_string());
                        line = tokens[j + 1].line;
                        j += 2;
                    }
                    None => break,
                }
            }
            paths.push(WrittenPath {
                segments,
                line,
                inline: names,
                binds: None,
            });
            i = j;
            continue;
        }
        i += 1;
    }
    (uses, paths)
}

/// `mod name;` declarations at the top of a file (child modules in files of their own), with
/// the file a `#[path = "…"]` attribute gives, read from the source at the attribute's offset.
fn child_modules(text: &str, tokens: &[Token]) -> Vec<(String, Option<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut pending_path = None;
    let mut depth = 0usize;
    for i in 0..tokens.len() {
        match tokens[i].tok {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            _ => {}
        }
        let path_attribute = is(tokens, i, &Tok::Other('#'))
            && is(tokens, i + 1, &Tok::Other('['))
            && ident(tokens, i + 2) == Some("path")
            && is(tokens, i + 3, &Tok::Other('='));
        if path_attribute {
            let literal: String = chars[tokens[i + 3].pos + 1..]
                .iter()
                .skip_while(|c| c.is_whitespace())
                .skip(1)
                .take_while(|c| **c != '"')
                .collect();
            pending_path = Some(literal);
        }
        if depth == 0 && ident(tokens, i) == Some("mod") && is(tokens, i + 2, &Tok::Semi) {
            if let Some(name) = ident(tokens, i + 1) {
                out.push((name.to_string(), pending_path.take()));
            }
        }
    }
    out
}

/// The module path of a file under harness/ (without `crate`), or `None` for files outside the
/// library (the binary's main, the build script, benchmarks).
fn module_of_file(path: &str) -> Option<Vec<String>> {
    let rel = path.strip_prefix("harness/")?.strip_suffix(".rs")?;
    if rel == "main" || rel == "build" || rel.starts_with("benches/") {
        return None;
    }
    if rel == "lib" {
        return Some(Vec::new());
    }
    let mut segments: Vec<String> = rel.split('/').map(str::to_string).collect();
    if segments.last().map(String::as_str) == Some("mod") {
        segments.pop();
    }
    Some(segments)
}

/// Resolves a written path to an absolute module path (without `crate`), if it is ours.
fn resolve(
    segments: &[String],
    module: &[String],
    names: &BTreeMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let (first, rest) = segments.split_first()?;
    let mut resolved = match first.as_str() {
        "crate" => rest.to_vec(),
        "self" => module.iter().chain(rest).cloned().collect(),
        "super" => {
            let mut base = module.to_vec();
            base.pop();
            let mut rest = rest;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            base.into_iter().chain(rest.iter().cloned()).collect()
        }
        name => {
            let base = names.get(name)?;
            base.iter().chain(rest).cloned().collect()
        }
    };
    if resolved.last().map(String::as_str) == Some("self") {
        resolved.pop();
    }
    Some(resolved)
}

/// The module path of every library file, `#[path]` files placed under the module that
/// declares them.
fn module_paths(files: &[SourceFile]) -> BTreeMap<String, Vec<String>> {
    let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        if let Some(module) = module_of_file(&file.path) {
            modules.entry(file.path.clone()).or_insert(module.clone());
            let tokens = code_tokens(&file.text);
            for (name, path) in child_modules(&file.text, &tokens) {
                if let Some(path) = path {
                    let dir = Path::new(&file.path).parent().unwrap_or(Path::new(""));
                    let target = dir.join(path).to_string_lossy().replace('\\', "/");
                    let mut child = module.clone();
                    child.push(name);
                    modules.insert(target, child);
                }
            }
        }
    }
    modules
}

/// Checks a set of source files against the layer rule.
fn check(files: &[SourceFile]) -> Findings {
    let mut findings = Findings::default();
    let modules = module_paths(files);
    let known: BTreeSet<Vec<String>> = modules.values().cloned().collect();

    for file in files {
        let Some(module) = modules.get(&file.path) else {
            continue;
        };
        let layer = match module.first() {
            None => Layer::UnitsProtocol,
            Some(first) => match top_layer(first, module.get(1).map(String::as_str)) {
                Some(layer) => layer,
                None => {
                    findings.unplaced.push(file.path.clone());
                    continue;
                }
            },
        };
        let tokens = code_tokens(&file.text);
        let (uses, paths) = written_paths(&tokens);

        // Names that stand for one of our modules here: child modules, and modules imported by name.
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, _) in child_modules(&file.text, &tokens) {
            let mut child = module.clone();
            child.push(name.clone());
            names.insert(name, child);
        }
        let mut imported = Vec::new();
        let within = |written: &WrittenPath| -> Vec<String> {
            module.iter().chain(&written.inline).cloned().collect()
        };
        for written in &uses {
            if let Some(resolved) = resolve(&written.segments, &within(written), &names) {
                if let (Some(bind), true) = (&written.binds, known.contains(&resolved)) {
                    names.insert(bind.clone(), resolved.clone());
                }
                imported.push((written.line, resolved));
            }
        }
        for written in &paths {
            if let Some(resolved) = resolve(&written.segments, &within(written), &names) {
                imported.push((written.line, resolved));
            }
        }
        for (line, path) in imported {
            let imported_layer = layer_of_import(&path);
            if imported_layer > layer {
                findings.violations.push(Violation {
                    file: file.path.clone(),
                    line,
                    layer,
                    imported: std::iter::once("crate")
                        .chain(path.iter().map(String::as_str))
                        .collect::<Vec<_>>()
                        .join("::"),
                    imported_layer,
                });
            }
        }
    }
    findings
        .violations
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    findings.violations.dedup();
    findings
}

fn is_pending(v: &Violation, entry: &(&str, &str, &str)) -> bool {
    v.file == entry.0
        && (v.imported == entry.1 || v.imported.starts_with(&format!("{}::", entry.1)))
}

// ---------------------------------------------------------------------------------------------
// The tree.

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn harness_sources() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    rust_files(&root.join("harness"), &mut paths);
    assert!(
        paths.len() > 50,
        "harness/ has only {} .rs files",
        paths.len()
    );
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            SourceFile { path: rel, text }
        })
        .collect()
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let findings = check(&harness_sources());
    assert!(
        findings.unplaced.is_empty(),
        "files in a module that has no layer (place the module in `top_layer`):\n{}",
        findings.unplaced.join("\n")
    );
    let (pending, violations): (Vec<_>, Vec<_>) = findings
        .violations
        .into_iter()
        .partition(|v| PENDING.iter().any(|entry| is_pending(v, entry)));
    let report: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "imports from a layer above (layers, lowest first: units/protocol, link, \
         driver/emulator, scenario, expect, record schema, checks, record, render, runner, cli):\n{}",
        report.join("\n")
    );
    let stale: Vec<String> = PENDING
        .iter()
        .filter(|entry| !pending.iter().any(|v| is_pending(v, entry)))
        .map(|(file, path, why)| format!("{file} no longer imports {path} ({why})"))
        .collect();
    assert!(
        stale.is_empty(),
        "delete these entries from PENDING in tests/architecture.rs, their work is done:\n{}",
        stale.join("\n")
    );
}

/// Files outside the command line that use clap: the library's types are plain data and the
/// cli builds them from its own argument structs.
fn clap_outside_the_cli(files: &[SourceFile]) -> Vec<String> {
    files
        .iter()
        .filter(|f| !f.path.starts_with("harness/cli/"))
        .flat_map(|f| {
            code_tokens(&f.text)
                .iter()
                .filter(|t| t.tok == Tok::Ident("clap".into()))
                .map(|t| format!("{}:{}", f.path, t.line))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn only_the_command_line_uses_clap() {
    let found = clap_outside_the_cli(&harness_sources());
    assert!(
        found.is_empty(),
        "clap used outside harness/cli/ (give the cli its own argument struct that builds the \
         library type):\n{}",
        found.join("\n")
    );
}

#[test]
fn a_clap_derive_on_an_emulator_type_is_reported() {
    let text = "//! Faults.\n/// Rates (clap::Args in a comment is fine).\n\
        #[derive(Debug, clap::Args)]\npub struct LinkFaults {}\n";
    assert_eq!(
        clap_outside_the_cli(&tree_with("harness/emulator/link_faults.rs", text)),
        ["harness/emulator/link_faults.rs:3"]
    );
}

#[test]
fn every_source_file_opens_with_a_doc_line() {
    let missing: Vec<String> = harness_sources()
        .into_iter()
        .filter(|f| !f.text.starts_with("//!"))
        .map(|f| f.path)
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not start with a `//!` line saying what they are for:\n{}",
        missing.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The scan itself must be able to fail.

/// The real tree with one file replaced or added.
fn tree_with(path: &str, text: &str) -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = harness_sources()
        .into_iter()
        .filter(|f| f.path != path)
        .collect();
    files.push(SourceFile {
        path: path.into(),
        text: text.into(),
    });
    files
}

fn violations_in(path: &str, text: &str) -> Vec<String> {
    check(&tree_with(path, text))
        .violations
        .into_iter()
        .filter(|v| v.file == path)
        .map(|v| v.to_string())
        .collect()
}

#[test]
fn a_protocol_file_importing_the_runner_is_reported_with_file_and_line() {
    let text = "//! A frame.\n\nuse crate::units::NL_PER_ML;\nuse crate::runner::RunOptions;\n";
    assert_eq!(
        violations_in("harness/protocol/frame.rs", text),
        [
            "harness/protocol/frame.rs:4: imports `crate::runner::RunOptions` \
          from the runner layer, above this file's units/protocol layer"
        ]
    );
}

#[test]
fn paths_in_code_groups_super_and_imported_modules_are_resolved() {
    let text = "//! Events.\n\
        use crate::{\n    units::MS_PER_DAY,\n    record::report::content,\n};\n\
        use super::render;\n\
        fn f() {\n    let _ = crate::cli::main;\n    let _ = content::Block::default();\n\
        render::write();\n}\n";
    assert_eq!(
        violations_in("harness/record/event.rs", text),
        [
            "harness/record/event.rs:4: imports `crate::record::report::content` \
             from the render layer, above this file's record layer",
            "harness/record/event.rs:6: imports `crate::record::render` \
             from the render layer, above this file's record layer",
            "harness/record/event.rs:8: imports `crate::cli::main` \
             from the cli layer, above this file's record layer",
            "harness/record/event.rs:9: imports \
             `crate::record::report::content::Block::default` \
             from the render layer, above this file's record layer",
            "harness/record/event.rs:10: imports `crate::record::render::write` \
             from the render layer, above this file's record layer",
        ]
    );
}

#[test]
fn child_modules_and_super_chains_are_placed_in_their_layers() {
    // `report` is a child of `record`: the record module may not use it, but the report may use
    // the record (two `super`s up) and anything below.
    let text = "//! The record.\npub mod report;\npub use report::Config;\n";
    assert_eq!(
        violations_in("harness/record/mod.rs", text),
        [
            "harness/record/mod.rs:3: imports `crate::record::report::Config` \
          from the render layer, above this file's record layer"
        ]
    );
    let text = "//! Report.\nuse super::super::Journal;\nuse crate::checks::Judge;\n\
        use super::super::super::runner::RunOptions;\n";
    assert_eq!(
        violations_in("harness/record/report/extra.rs", text),
        [
            "harness/record/report/extra.rs:4: imports `crate::runner::RunOptions` \
          from the runner layer, above this file's render layer"
        ]
    );
}

#[test]
fn super_in_an_inline_module_starts_from_that_module() {
    // From `record::journal::tests`, `super::super` is `record`, so this is the report.
    let text =
        "//! Journal.\n#[cfg(test)]\nmod tests {\n    use super::super::report::Config;\n}\n";
    assert_eq!(
        violations_in("harness/record/journal.rs", text),
        [
            "harness/record/journal.rs:4: imports `crate::record::report::Config` \
          from the render layer, above this file's record layer"
        ]
    );
}

#[test]
fn comments_and_literals_are_not_imports() {
    let text = "//! Mentions `crate::cli` in docs.\n\
        /* crate::runner::x */\n\
        // crate::cli::exit\n\
        const A: &str = \"crate::cli::exit\";\n\
        const B: &str = r#\"crate::runner\"#;\n\
        const C: char = '\"';\n\
        fn f<'a>(x: &'a str) -> &'a str { x }\n\
        use crate::cli::Late;\n";
    assert_eq!(
        violations_in("harness/units.rs", text),
        ["harness/units.rs:8: imports `crate::cli::Late` \
          from the cli layer, above this file's units/protocol layer"]
    );
}

#[test]
fn a_file_named_by_a_path_attribute_belongs_to_the_declaring_module() {
    let modules = module_paths(&harness_sources());
    assert_eq!(
        modules
            .get("harness/driver/pump_tests.rs")
            .map(|m| m.join("::")),
        Some("driver::pump::tests".to_string())
    );
    assert_eq!(
        modules
            .get("harness/record/report/content.rs")
            .map(|m| m.join("::")),
        Some("record::report::content".to_string())
    );
    assert_eq!(
        modules.get("harness/main.rs"),
        None,
        "the binary is outside the library"
    );
}

#[test]
fn a_module_without_a_layer_is_reported() {
    let findings = check(&tree_with("harness/newthing/mod.rs", "//! New.\n"));
    assert_eq!(findings.unplaced, ["harness/newthing/mod.rs"]);
}
