//! Files that a splat file refers to (SOG planes, LOD levels, glTF buffers),
//! read by paths relative to the splat file's folder.

use std::future::Future;
use std::path::PathBuf;

use super::error::SplatLoadError;

/// Reads the files a splat file refers to. Implement
/// [`read_relative`](Self::read_relative); callers use [`read`](Self::read),
/// which first rejects paths that would leave the scene's folder.
pub trait SiblingFiles {
    /// Reads one referenced file by a path already checked by [`check_relative_path`].
    fn read_relative(&mut self, relative: &str) -> impl Future<Output = Result<Vec<u8>, SplatLoadError>>;

    /// Reads one referenced file, relative to the splat file's folder.
    fn read(&mut self, relative: &str) -> impl Future<Output = Result<Vec<u8>, SplatLoadError>> {
        async move {
            check_relative_path(relative)?;
            self.read_relative(relative).await
        }
    }
}

/// Fails for absolute paths and paths with a `..` part: a splat file may only
/// refer to files inside its own folder.
pub fn check_relative_path(relative: &str) -> Result<(), SplatLoadError> {
    if relative.starts_with('/') || relative.split('/').any(|c| c == "..") {
        return Err(SplatLoadError::MissingFile {
            path: relative.to_string(),
            message: "paths must stay inside the scene's folder".into(),
        });
    }
    Ok(())
}

/// Referenced files read from a folder on disk.
#[derive(Clone, Debug)]
pub struct DiskSiblings(pub PathBuf);

impl SiblingFiles for DiskSiblings {
    async fn read_relative(&mut self, relative: &str) -> Result<Vec<u8>, SplatLoadError> {
        std::fs::read(self.0.join(relative)).map_err(|e| SplatLoadError::MissingFile {
            path: relative.to_string(),
            message: e.to_string(),
        })
    }
}
