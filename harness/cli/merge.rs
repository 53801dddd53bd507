//! `pumphil merge OUT DIR...`: one run directory, record, manifest, JUnit, summary and report
//! made of the verified partitions of a run (`run --partition K/N`).

use super::exit;
use crate::record::render::{self, merge};
use crate::record::signing::StationKey;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The merged run directory to make (it must not exist yet).
    pub out: PathBuf,
    /// The partitions' run directories, one for each K of N, in any order.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// A public key trusted to sign the parts; repeatable. With it, an unsigned part, or one
    /// with any signature by another key, is refused.
    #[arg(long, value_name = "KEY.pub")]
    pub trusted_key: Vec<PathBuf>,
    /// Sign the merged record and manifest with this station key (`pumphil keygen`).
    #[arg(long, env = "PUMPHIL_SIGN_KEY", value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
}

pub fn run(args: &MergeArgs) -> u8 {
    let trusted = match super::trusted_keys(&args.trusted_key) {
        Ok(trusted) => trusted,
        Err(code) => return code,
    };
    let signer = match args.sign_key.as_deref().map(StationKey::load).transpose() {
        Ok(key) => key.map(std::sync::Arc::new),
        Err(e) => {
            super::diagnostic::show(&e);
            return exit::USAGE;
        }
    };
    if let Err(e) = merge::merge(
        &args.out,
        &args.dirs,
        &trusted,
        signer.clone(),
        std::env::args().collect(),
    ) {
        super::diagnostic::show(&e);
        return e.exit_code();
    }
    let options = render::RenderOptions {
        sign: signer.as_deref(),
        ..Default::default()
    };
    match render::render_all_with(&args.out, &options) {
        Ok(rendered) => {
            writeln!(super::out::stdout(), "{}", rendered.closing_table);
            writeln!(
                super::out::stdout(),
                "merged {} part(s) into {}",
                args.dirs.len(),
                args.out.display()
            );
            rendered.verdict.exit_code()
        }
        Err(e) => {
            super::print_error(
                "merge::render",
                format!(
                    "rendering the outputs of {} failed: {e}",
                    args.out.display()
                ),
                Some("check the disk has room, then run `pumphil report` on the merged directory"),
            );
            exit::INFRASTRUCTURE
        }
    }
}
