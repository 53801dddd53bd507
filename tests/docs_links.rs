//! docs/ link to each other by relative paths only, and every link names a file that exists:
//! the pages read the same in a checkout, on a forge and in a release archive.

use std::path::Path;

#[test]
fn docs_links_are_relative_and_resolve() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&docs).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (line_no, line) in text.lines().enumerate() {
            for target in line
                .split("](")
                .skip(1)
                .filter_map(|rest| rest.split(')').next())
            {
                let place = format!("docs/{name}:{}: ({target})", line_no + 1);
                let external = target.contains("://") || target.starts_with("mailto:");
                if target.starts_with('/') || (external && target.contains("docs/")) {
                    problems.push(format!("{place} is not a relative link"));
                    continue;
                }
                if external {
                    continue;
                }
                let file = target.split('#').next().unwrap_or_default();
                if !file.is_empty() && !docs.join(file).exists() {
                    problems.push(format!("{place} names no file"));
                }
            }
            if line.contains("docs/") && line.contains(".md") && !line.contains("](") {
                problems.push(format!(
                    "docs/{name}:{}: names a page as docs/…; link it relatively",
                    line_no + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
