//! Pseudo-terminal pairs: the emulator serves the master, clients open the slave by its path.
//!
//! Quirks handled here: the slave is put in raw mode (no echo, no CR/LF translation, 0x00
//! passes); the pair keeps a slave descriptor open so the master never reads EIO before a
//! client has opened the slave; EIO on the master (no client, or the client went away) is
//! "no peer now", not an error. Modem-line ioctls fail on ptys with ENOTTY and are never used.

use super::LinkError;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct PtyPair {
    pub master: PtyMaster,
    slave_path: PathBuf,
    _slave_keepalive: OwnedFd,
}

impl PtyPair {
    /// Opens a new pair in raw mode. Needs a tokio runtime (the master is registered with it).
    pub fn open() -> Result<PtyPair, LinkError> {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: openpty writes two descriptors and a NUL-terminated name into our buffers.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                name.as_mut_ptr(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(LinkError::Pty(io::Error::last_os_error()));
        }
        // SAFETY: openpty succeeded, so both descriptors are open and owned by us alone.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        // SAFETY: `name` is NUL-terminated by openpty.
        let slave_path = PathBuf::from(
            unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
                .to_string_lossy()
                .into_owned(),
        );
        make_raw(&slave).map_err(LinkError::Pty)?;
        set_nonblocking(&master).map_err(LinkError::Pty)?;
        // SAFETY: the descriptor is owned by the AsyncFd and closed only when it is dropped.
        let fd = unsafe { AsyncFd::register(master) }.map_err(|e| LinkError::Pty(e.into()))?;
        let master = PtyMaster { fd };
        Ok(PtyPair {
            master,
            slave_path,
            _slave_keepalive: slave,
        })
    }

    pub fn slave_path(&self) -> PathBuf {
        self.slave_path.clone()
    }

    /// Splits into the master (to serve) and a guard that keeps the slave side alive.
    pub fn into_parts(self) -> (PtyMaster, PathBuf, OwnedFd) {
        (self.master, self.slave_path, self._slave_keepalive)
    }
}

fn make_raw(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: termios is plain data; tcgetattr fills it from an open terminal descriptor.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd.as_raw_fd(), &mut t) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::cfmakeraw(&mut t);
        if libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on an open descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The master side of a pty as an async byte stream.
pub struct PtyMaster {
    fd: AsyncFd<OwnedFd>,
}

fn is_eio(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EIO)
}

impl AsyncRead for PtyMaster {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            // SAFETY: reading into an initialised buffer of the given length.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    unfilled.as_mut_ptr().cast(),
                    unfilled.len(),
                )
            };
            if n >= 0 {
                buf.advance(n as usize);
                return Poll::Ready(Ok(()));
            }
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            if is_eio(&err) {
                // No slave open right now: wait for one rather than fail.
                guard.clear_ready();
                let waker = cx.waker().clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    waker.wake();
                });
                return Poll::Pending;
            }
            return Poll::Ready(Err(err));
        }
    }
}

impl AsyncWrite for PtyMaster {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            // SAFETY: writing from a valid slice.
            let n = unsafe {
                libc::write(
                    self.fd.get_ref().as_raw_fd(),
                    data.as_ptr().cast(),
                    data.len(),
                )
            };
            if n >= 0 {
                return Poll::Ready(Ok(n as usize));
            }
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            if is_eio(&err) {
                // Nobody listening: the bytes are lost, as on a cable with no device.
                return Poll::Ready(Ok(data.len()));
            }
            return Poll::Ready(Err(err));
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::serial::{open_serial, SerialSettings};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client(path: &std::path::Path) -> crate::link::BoxLink {
        open_serial(&SerialSettings::pump(&path.display().to_string())).expect("open the slave")
    }

    async fn read_exactly(link: &mut (impl AsyncRead + Unpin), n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(2), link.read_exact(&mut buf))
            .await
            .expect("bytes within 2 s")
            .expect("read");
        buf
    }

    #[tokio::test]
    async fn bytes_pass_both_ways_untranslated() {
        let pair = PtyPair::open().unwrap();
        let mut slave = client(&pair.slave_path());
        let mut master = pair.master;
        // 0x00, CR, LF, XON/XOFF and ^C must all arrive as sent (raw mode).
        let bytes = [0x00, b'\r', b'\n', 0x11, 0x13, 0x03, 0xFF];
        slave.write_all(&bytes).await.unwrap();
        assert_eq!(read_exactly(&mut master, bytes.len()).await, bytes);
        master.write_all(&bytes).await.unwrap();
        assert_eq!(read_exactly(&mut slave, bytes.len()).await, bytes);
    }

    #[tokio::test]
    async fn a_client_may_leave_and_another_come() {
        let pair = PtyPair::open().unwrap();
        let path = pair.slave_path();
        let mut master = pair.master;
        drop(client(&path));
        let mut second = client(&path);
        second.write_all(b"again").await.unwrap();
        assert_eq!(read_exactly(&mut master, 5).await, b"again");
    }

    #[tokio::test]
    async fn without_the_keepalive_the_master_waits_for_a_client_instead_of_failing() {
        let (mut master, path, keepalive) = PtyPair::open().unwrap().into_parts();
        drop(keepalive);
        // No slave open: reads on the master would give EIO; the link waits instead.
        let mut buf = [0u8; 4];
        let early = tokio::time::timeout(Duration::from_millis(100), master.read(&mut buf)).await;
        assert!(early.is_err(), "no peer yet: still waiting, {early:?}");
        let mut slave = client(&path);
        slave.write_all(b"late").await.unwrap();
        assert_eq!(read_exactly(&mut master, 4).await, b"late");
    }

    #[tokio::test]
    async fn closing_the_master_is_a_hang_up_for_the_client() {
        let pair = PtyPair::open().unwrap();
        let mut slave = client(&pair.slave_path());
        drop(pair);
        let mut buf = [0u8; 4];
        let n = tokio::time::timeout(Duration::from_secs(2), slave.read(&mut buf))
            .await
            .expect("the hang-up is seen at once");
        // Linux reports the hang-up as a 0-byte read (or EIO on some kernels).
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
}
