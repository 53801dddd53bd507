//! `pumphil keygen KEY`: makes an Ed25519 key (KEY, mode 0600) and its public half (KEY.pub).

use super::exit;
use crate::record::signing::{public_path, StationKey};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the secret key; the public half goes to KEY.pub. Neither may exist.
    pub key: PathBuf,
}

pub fn run(args: &KeygenArgs) -> u8 {
    let made = StationKey::generate().and_then(|key| key.save(&args.key).map(|_| key));
    match made {
        Ok(key) => {
            writeln!(
                super::out::stdout(),
                "wrote {} (secret, mode 0600) and {} (public); fingerprint {}",
                args.key.display(),
                public_path(&args.key).display(),
                key.fingerprint()
            );
            exit::PASSED
        }
        Err(e) => {
            super::diagnostic::show(&e);
            exit::USAGE
        }
    }
}
