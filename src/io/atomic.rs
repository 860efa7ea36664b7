//! Atomic file replacement: a reader (or a crash) sees the old file or the new one, never a
//! partial one. The bytes go to a temporary file in the SAME directory (a rename is atomic only
//! within one file system), which is flushed to disk before it is renamed over the target; the
//! directory is then synced so the rename itself survives a power loss.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically. On failure nothing is left behind: the temporary file is
/// removed and an existing `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        Error::input(format!(
            "{}: not a file path (it names no file); give a path such as results/out.json",
            path.display()
        ))
    })?;
    let dir = parent_dir(path);
    let temp = dir.join(temp_name(file_name));

    // Errors name `path`, the file the caller asked for, not the temporary one.
    let written = write_synced(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        // The temporary file may not exist (creation failed); either way it must not remain.
        let _ = fs::remove_file(&temp);
        return Err(Error::io(path, e));
    }
    sync_dir(&dir)
}

/// The directory holding `path` ("." for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.<pid>.<n>.tmp`: hidden, unique per process and call, so concurrent writers (threads
/// or processes) never share a temporary file.
fn temp_name(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(file_name);
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    name
}

/// Creates `temp` (refusing to reuse an existing file), writes `bytes` and flushes them to disk.
fn write_synced(temp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes the rename durable. Directories can be opened and synced on Unix; elsewhere the rename
/// is as durable as the platform makes it.
fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        let handle = File::open(dir).map_err(|e| Error::io(dir, e))?;
        handle.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_hidden_and_unique() {
        let a = temp_name(std::ffi::OsStr::new("r.json"));
        let b = temp_name(std::ffi::OsStr::new("r.json"));
        assert_ne!(a, b);
        let a = a.to_string_lossy().into_owned();
        assert!(a.starts_with(".r.json.") && a.ends_with(".tmp"), "{a}");
    }

    #[test]
    fn bare_file_names_live_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("x.bin")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("a/b/x.bin")), PathBuf::from("a/b"));
    }
}
