//! `pumphil sign DIR`: a person's electronic signature (21 CFR 11.50) appended to a verified
//! record, linked to its chain head (11.70); the outputs are rendered again to show it.

use super::exit;
use crate::record::render::{self, RenderOptions};
use crate::record::signing::{self, StationKey};
use crate::record::{Journal, RunEvent, SignatureRole};
use std::path::PathBuf;

/// The role a signature attests (`--role`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Prepared,
    Reviewed,
    Approved,
}

impl RoleArg {
    fn role(self) -> SignatureRole {
        match self {
            RoleArg::Prepared => SignatureRole::Prepared,
            RoleArg::Reviewed => SignatureRole::Reviewed,
            RoleArg::Approved => SignatureRole::Approved,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// A run directory (reports/<id>/) that verifies.
    pub dir: PathBuf,
    /// The signer's own key (`pumphil keygen`).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// The signer's printed name.
    #[arg(long, value_parser = super::values::operator)]
    pub name: String,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// What the signature means, e.g. "I reviewed this report and its deviations".
    #[arg(long)]
    pub meaning: String,
}

pub fn run(args: &SignArgs) -> u8 {
    let key = match StationKey::load(&args.key) {
        Ok(key) => key,
        Err(e) => {
            super::diagnostic::show(&e);
            return exit::USAGE;
        }
    };
    if args.meaning.trim().is_empty() {
        super::print_error(
            "sign::meaning",
            "--meaning is empty",
            Some("say what the signature means, e.g. --meaning \"reviewed: results and deviations accepted\""),
        );
        return exit::USAGE;
    }
    let report = render::verify(&args.dir);
    if !report.is_ok() {
        for problem in &report.problems {
            eprintln!("  {problem}");
        }
        super::print_error(
            "sign::not-verified",
            format!(
                "{}: does not verify ({} problem(s) above); a record that does not verify is never signed",
                args.dir.display(),
                report.problems.len()
            ),
            Some("run `pumphil verify DIR` and find out what changed before anyone signs"),
        );
        return exit::CHECK_FAILED;
    }
    let appended = Journal::open_append(&args.dir).and_then(|mut journal| {
        let (seq, head) = journal.head();
        let (seq, head) = (seq.unwrap_or(0), head.to_string());
        let signed_utc = crate::record::utc_now();
        let role = args.role.role();
        let public = key.public();
        let message = signing::electronic_message(
            seq,
            &head,
            &args.name,
            role.name(),
            &args.meaning,
            &signed_utc,
        );
        journal.append(RunEvent::ElectronicSignature {
            name: args.name.clone(),
            role,
            meaning: args.meaning.clone(),
            signed_utc,
            head,
            public_key: public.to_hex(),
            fingerprint: public.fingerprint(),
            signature: key.sign(&message),
        })
    });
    let record = match appended {
        Ok(record) => record,
        Err(e) => {
            super::print_error(
                "sign::write",
                format!("{}: cannot append the signature: {e}", args.dir.display()),
                Some("check the run directory is writable"),
            );
            return exit::INFRASTRUCTURE;
        }
    };
    let options = RenderOptions {
        sign: Some(&key),
        ..Default::default()
    };
    if let Err(e) = render::render_all_with(&args.dir, &options) {
        super::print_error(
            "sign::render",
            format!("signed, but rendering the outputs failed: {e}"),
            Some("run `pumphil report DIR` once the problem is fixed"),
        );
        return exit::INFRASTRUCTURE;
    }
    writeln!(
        super::out::stdout(),
        "signed {} as {} ({}) with key {}: record line {}, UTC {}",
        args.dir.display(),
        args.name,
        args.role.role().name(),
        key.fingerprint(),
        record.seq + 1,
        record.at_utc
    );
    exit::PASSED
}
