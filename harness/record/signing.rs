//! Ed25519 keys and the exact bytes each kind of signature covers: chain heads, manifests and
//! electronic signatures (21 CFR 11.50, 11.70). ed25519-dalek does the cryptography.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use std::path::{Path, PathBuf};

const SECRET_HEADER: &str = "pumphil ed25519 secret key";
const PUBLIC_HEADER: &str = "pumphil ed25519 public key";

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum KeyError {
    #[error("{path}: cannot read the key: {source}")]
    #[diagnostic(
        code(pumphil::key::read),
        help("pass the file `pumphil keygen` wrote (KEY for signing, KEY.pub to trust)")
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a pumphil {kind} key ({why})")]
    #[diagnostic(
        code(pumphil::key::format),
        help(
            "make a key with `pumphil keygen KEY`: KEY is the secret key, KEY.pub its public half"
        )
    )]
    Format {
        path: PathBuf,
        kind: &'static str,
        why: String,
    },
    #[error("{path}: the secret key is readable by others (mode {mode:o})")]
    #[diagnostic(
        code(pumphil::key::permissions),
        help("run `chmod 600` on the key file; a station key others can read proves nothing")
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path}: already exists; a key is never overwritten")]
    #[diagnostic(
        code(pumphil::key::exists),
        help("choose another file name, or remove the old key yourself if it is really retired")
    )]
    Exists { path: PathBuf },
    #[error("{path}: cannot write the key: {source}")]
    #[diagnostic(
        code(pumphil::key::write),
        help("check that the folder exists and is writable")
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no random source: {0}")]
    #[diagnostic(
        code(pumphil::key::random),
        help("the operating system's random source (getrandom) is needed to make a key")
    )]
    Random(String),
}

/// A secret signing key (a station's or a person's).
pub struct StationKey {
    key: SigningKey,
}

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StationKey({})", self.fingerprint())
    }
}

/// First 16 hex digits of the SHA-256 of the 32-byte public key: what reports print.
pub fn fingerprint_of(public: &[u8; 32]) -> String {
    crate::scenario::sha256_hex(public)[..16].to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The path of a key's public half: `KEY.pub`.
pub fn public_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            KeyError::Write {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.to_path_buf(),
            source,
        })
}

impl StationKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<StationKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(StationKey {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Writes `path` (mode 0600) and `path.pub`; neither may exist yet.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let public = public_path(path);
        if public.exists() {
            return Err(KeyError::Exists { path: public });
        }
        write_new(
            path,
            &format!("{SECRET_HEADER}\n{}\n", hex(&self.key.to_bytes())),
            0o600,
        )?;
        write_new(&public, &self.public().to_text(), 0o644)
    }

    /// Reads a secret key, refusing one that others can read.
    pub fn load(path: &Path) -> Result<StationKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let format = |why: &str| KeyError::Format {
            path: path.to_path_buf(),
            kind: "secret",
            why: why.to_string(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(SECRET_HEADER) {
            return Err(format(&format!("the first line is not {SECRET_HEADER:?}")));
        }
        let seed = lines
            .next()
            .and_then(unhex::<32>)
            .ok_or_else(|| format("the second line is not 64 hex digits"))?;
        Ok(StationKey {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn fingerprint(&self) -> String {
        self.public().fingerprint()
    }

    /// The signature of `message`, as 128 hex digits.
    pub fn sign(&self, message: &[u8]) -> String {
        hex(&self.key.sign(message).to_bytes())
    }
}

/// A public key: what a signature record carries and `--trusted-key` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn fingerprint(&self) -> String {
        fingerprint_of(self.0.as_bytes())
    }

    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }

    pub fn from_hex(text: &str) -> Option<PublicKey> {
        VerifyingKey::from_bytes(&unhex::<32>(text)?)
            .ok()
            .map(PublicKey)
    }

    fn to_text(self) -> String {
        format!(
            "{PUBLIC_HEADER}\n{}\nfingerprint {}\n",
            self.to_hex(),
            self.fingerprint()
        )
    }

    /// Reads a `KEY.pub` file.
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut lines = text.lines();
        let header = lines.next();
        let key = lines.next().and_then(PublicKey::from_hex);
        match (header, key) {
            (Some(PUBLIC_HEADER), Some(key)) => Ok(key),
            _ => Err(KeyError::Format {
                path: path.to_path_buf(),
                kind: "public",
                why: format!(
                    "expected {PUBLIC_HEADER:?} then 64 hex digits (a secret key is never passed to --trusted-key)"
                ),
            }),
        }
    }

    /// Whether `signature` (128 hex digits) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        unhex::<64>(signature)
            .map(|bytes| ed25519_dalek::Signature::from_bytes(&bytes))
            .is_some_and(|sig| self.0.verify(message, &sig).is_ok())
    }
}

/// What a station's chain signature covers: the hash of the record's line `seq` (the chain head).
pub fn chain_message(seq: u64, head: &str) -> Vec<u8> {
    format!("pumphil/chain-signature/v1\nseq {seq}\nhead {head}\n").into_bytes()
}

/// What a manifest signature covers: the SHA-256 of the manifest's bytes.
pub fn manifest_message(manifest_sha256: &str) -> Vec<u8> {
    format!("pumphil/manifest-signature/v1\nsha256 {manifest_sha256}\n").into_bytes()
}

/// What an electronic signature covers: the chain head it is linked to, and what the signer
/// declared (printed name, role, meaning, UTC time).
pub fn electronic_message(
    seq: u64,
    head: &str,
    name: &str,
    role: &str,
    meaning: &str,
    signed_utc: &str,
) -> Vec<u8> {
    serde_json::json!({
        "v": "pumphil/electronic-signature/v1",
        "seq": seq,
        "head": head,
        "name": name,
        "role": role,
        "meaning": meaning,
        "signed_utc": signed_utc,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_and_signs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("station.key");
        let key = StationKey::generate().unwrap();
        key.save(&path).unwrap();
        let loaded = StationKey::load(&path).unwrap();
        assert_eq!(loaded.fingerprint(), key.fingerprint());
        let public = PublicKey::load(&public_path(&path)).unwrap();
        let sig = loaded.sign(b"hello");
        assert!(public.verifies(b"hello", &sig));
        assert!(!public.verifies(b"hellO", &sig));
        assert!(matches!(key.save(&path), Err(KeyError::Exists { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                StationKey::load(&path),
                Err(KeyError::Permissions { .. })
            ));
        }
    }
}
