//! Key files kept beside the database (audit checkpoint key, the exchange CA's key, the
//! identity sealing key): readable by the owner only, never half-written, never replaced.
//! They live outside the database on purpose: whoever can write the database must not also
//! hold the keys that protect it.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

/// Creates `path` holding `bytes`, readable by the owner only. The content goes to a private
/// temporary file first, which is then linked into place, so the file never exists
/// half-written. Fails with `AlreadyExists` if the file is there: an existing key is never
/// replaced (a concurrent first start keeps the other process's key).
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut suffix = [0_u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let name: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let temporary = dir.join(format!(".key-{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::hard_link(&temporary, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    let _temporary_gone_or_never_made = std::fs::remove_file(&temporary);
    written
}

/// Creates (or empties) a data file of personal data, such as a population export, readable
/// by the owner only; a file that was there keeps its content's new mode too.
pub fn create_owner_only(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    // The mode above applies only to a new file.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}

/// Refuses a key file that other users may read.
#[cfg(unix)]
pub fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "other users may read it (mode {:o}); run chmod 600 on it",
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_once_and_never_replaced() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join("k.key");
        create_private(&path, b"first")?;
        assert_eq!(std::fs::read(&path)?, b"first");
        check_private(&path)?;
        let again = create_private(&path, b"second");
        assert_eq!(
            again.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::AlreadyExists)
        );
        assert_eq!(std::fs::read(&path)?, b"first");
        let leftovers = std::fs::read_dir(path.parent().ok_or("no parent")?)?.count();
        assert_eq!(leftovers, 1, "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
            assert!(check_private(&path).is_err());
        }
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn data_files_are_created_and_emptied_owner_only() -> Result<(), Box<dyn std::error::Error>> {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("population.csv");
        create_owner_only(&path)?.write_all(b"one")?;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        create_owner_only(&path)?.write_all(b"two")?;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_to_string(&path)?, "two");
        Ok(())
    }
}
