//! Input for a child's stdin pipe.

/// Writes `input` to the write end of a pipe and closes it, off the async threads (a child that
/// reads slowly must not block the engine). A child that exits without reading all of it is
/// not an error: what it did with its input shows in its exit code.
pub async fn feed(fd: std::os::fd::OwnedFd, input: Vec<u8>) -> std::io::Result<()> {
    let written = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        std::fs::File::from(fd).write_all(&input)
    })
    .await
    .map_err(std::io::Error::other)?;
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
