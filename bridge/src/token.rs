//! The bridge token for local tools: kept in `bridge-token` in the agent's data directory,
//! created on first use with owner-only permissions.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// The file name inside the data directory.
pub const TOKEN_FILE: &str = "bridge-token";

/// Reads the token from `<data_dir>/bridge-token`, or creates that file (mode 0600 on
/// Unix, and its directory if missing) holding a new random token: 32 bytes from the OS
/// CSPRNG as 64 hex digits. Two agents racing here end up with the same token.
pub fn load_or_create(data_dir: &Path) -> io::Result<String> {
    let path = data_dir.join(TOKEN_FILE);
    match read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    create_dir(data_dir)?;
    let token = generate();
    // Write a private temp file in full, then link it into place: the link fails if
    // another process got there first, and nobody ever reads a half-written token.
    let tmp = data_dir.join(format!(".{TOKEN_FILE}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    {
        let mut file = open_private(&tmp)?;
        file.write_all(format!("{token}\n").as_bytes())?;
        file.sync_all()?;
    }
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e),
    }
}

/// A fresh token: 64 hex digits.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read(path: &Path) -> io::Result<String> {
    let text = fs::read_to_string(path)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is empty; delete it and a new token will be made",
                path.display()
            ),
        ));
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} holds more than one word; it must hold only the token",
                path.display()
            ),
        ));
    }
    Ok(token.to_owned())
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}
