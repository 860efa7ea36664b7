//! One error type for the whole tool. Every message names the problem and, where there is one,
//! the fix. The CLI maps `Input` and `Io` to exit code 2 (the user can fix them) and the rest to 1.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// Bad input: a wrong shape, a missing tensor, a non-finite value, an invalid option.
    Input(String),
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The GPU path: no driver, a failed launch, a kernel that did not load.
    Device(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn input(msg: impl Into<String>) -> Self {
        Error::Input(msg.into())
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn device(msg: impl Into<String>) -> Self {
        Error::Device(msg.into())
    }

    /// The process exit code for this error: 2 for what the user can fix, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Io { .. } => 2,
            Error::Device(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(msg) => write!(f, "{msg}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Device(msg) => write!(f, "GPU: {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
