//! `write_atomic`: the target holds the old bytes or the new ones, never a part, and a failed
//! write leaves no temporary file behind.

use std::path::{Path, PathBuf};

use mha_cv::error::Error;
use mha_cv::io::atomic::write_atomic;

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io_atomic_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_then_replaces_leaving_only_the_target() {
    let dir = scratch("replace");
    let path = dir.join("out.json");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second, longer").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second, longer");
    write_atomic(&path, b"").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    assert_eq!(entries(&dir), ["out.json"]);
}

#[test]
fn a_missing_directory_fails_naming_the_target_and_creates_nothing() {
    let dir = scratch("missing_dir");
    let path = dir.join("absent/out.json");
    let err = write_atomic(&path, b"x").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().starts_with(&path.display().to_string()));
    assert!(entries(&dir).is_empty());
}

#[test]
fn a_failed_rename_removes_the_temporary_file_and_keeps_the_old_content() {
    // The target is a non-empty directory: the temporary file is written in full, then the
    // rename over the directory fails. Nothing may remain but what was there before.
    let dir = scratch("rename_fails");
    let target = dir.join("taken");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"old").unwrap();
    let err = write_atomic(&target, b"new bytes").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(entries(&dir), ["taken"]);
    assert_eq!(std::fs::read(target.join("keep.txt")).unwrap(), b"old");
}

#[cfg(unix)]
#[test]
fn an_unwritable_directory_fails_and_leaves_no_partial_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read_only");
    std::fs::write(dir.join("out.json"), b"old").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores directory permissions; then there is nothing to test here (the rename case
    // above covers the clean-up path).
    let probe = dir.join("probe");
    let privileged = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    let result = write_atomic(&dir.join("out.json"), b"new");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    if privileged {
        eprintln!("running with privileges that ignore permissions; skipped");
        return;
    }
    let err = result.unwrap_err();
    assert!(err.to_string().contains("out.json"), "{err}");
    assert_eq!(entries(&dir), ["out.json"]);
    assert_eq!(std::fs::read(dir.join("out.json")).unwrap(), b"old");
}

#[test]
fn a_path_without_a_file_name_is_refused() {
    let err = write_atomic(Path::new("/"), b"x").unwrap_err();
    assert!(matches!(err, Error::Input(_)), "{err:?}");
    assert!(err.to_string().contains("names no file"), "{err}");
}

#[test]
fn concurrent_writers_never_mix_their_bytes() {
    // Eight threads replace the same file with 64 KiB of their own byte, 5 times each. Every
    // read sees exactly one writer's content, and no temporary file outlives the writers.
    let dir = scratch("concurrent");
    let path = dir.join("shared.bin");
    write_atomic(&path, &[0u8; 1 << 16]).unwrap();
    std::thread::scope(|s| {
        for id in 1..=8u8 {
            let path = &path;
            s.spawn(move || {
                for _ in 0..5 {
                    write_atomic(path, &[id; 1 << 16]).unwrap();
                    let seen = std::fs::read(path).unwrap();
                    assert_eq!(seen.len(), 1 << 16);
                    assert!(seen.iter().all(|&b| b == seen[0]), "mixed content");
                }
            });
        }
    });
    assert_eq!(entries(&dir), ["shared.bin"]);
}
