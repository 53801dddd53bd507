//! Build script: stamps the git commit into the binary for `pumphil --version` and run records.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    // No optional locks: `git status` would otherwise refresh and rewrite the index it is
    // watched through, and every build would then look stale to the next one.
    Command::new("git")
        .arg("--no-optional-locks")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|out| !out.is_empty())
        .unwrap_or(false);
    let stamp = if dirty && commit != "unknown" {
        format!("{commit}-dirty")
    } else {
        commit
    };
    println!("cargo:rustc-env=PUMPHIL_GIT_COMMIT={stamp}");
    // Watch the real git directory: in a worktree `.git` is a file, and a watched path that
    // does not exist makes cargo rerun this script and rebuild the crate on every command.
    println!("cargo:rerun-if-changed=harness/build.rs");
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let git_dir = std::path::Path::new(git_dir.trim());
        for watched in ["HEAD", "index"] {
            let path = git_dir.join(watched);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
