//! Busy-waiting for an answer due within microseconds: after a write, reads try the descriptor
//! directly for a short window instead of parking on the reactor, so the core does not go idle
//! (and pay the wake-up) between a request and its answer.

use std::io;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long the runner's link to the in-process emulator busy-waits after each request. The
/// emulator answers in microseconds, so the wait is nearly always over within it; parking
/// instead costs the VM's idle wake-up (about 100 us) on every round trip. 50, 100, 200 and
/// 1000 us gave the same times on the 10-day scenario (docs/performance.md, "What a sample
/// costs").
pub const IN_PROCESS_BUSY_WAIT: Duration = Duration::from_micros(200);

/// A byte stream that, for `window` after each successful write, reads its descriptor directly
/// (a non-blocking `read`; with nothing there yet the thread yields to the kernel and the task
/// is woken again at once) rather than waiting for the reactor; after the window it waits on the
/// reactor as any stream does. Between attempts other tasks on the same thread run, and so do
/// other threads and processes wanting the core (`sched_yield`): without that, two runs on
/// two cores each busy-waiting took 1.7 times as long as parked, with it 1.07 times.
pub struct Spinning<L> {
    inner: L,
    fd: RawFd,
    window: Duration,
    until: Option<Instant>,
}

impl<L> Spinning<L> {
    /// `fd` must be `inner`'s descriptor, non-blocking, and open as long as `inner` is.
    pub fn new(inner: L, fd: RawFd, window: Duration) -> Spinning<L> {
        Spinning {
            inner,
            fd,
            window,
            until: None,
        }
    }
}

impl<L: AsyncRead + Unpin> AsyncRead for Spinning<L> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(until) = self.until {
            if Instant::now() < until {
                let unfilled = buf.initialize_unfilled();
                // SAFETY: reading into an initialised buffer of its length, from a descriptor
                // the inner stream keeps open.
                let n =
                    unsafe { libc::read(self.fd, unfilled.as_mut_ptr().cast(), unfilled.len()) };
                if n > 0 {
                    buf.advance(n as usize);
                    self.until = None;
                    return Poll::Ready(Ok(()));
                }
                if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
                    std::thread::yield_now();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // End of file or an error: the inner stream reads again and says what it is.
            }
            self.until = None;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for Spinning<L> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(_)) = written {
            self.until = Some(Instant::now() + self.window);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use crate::link::pty::PtyPair;
    use crate::link::serial::{open_serial, SerialSettings};
    use crate::link::BoxLink;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn busy_waiting_client(path: &std::path::Path, window: Duration) -> BoxLink {
        open_serial(&SerialSettings {
            busy_wait: Some(window),
            ..SerialSettings::pump(&path.display().to_string())
        })
        .expect("open the slave")
    }

    /// The device's end answers each 4-byte request after `delay`, from a task of the same
    /// runtime: a busy-waiting read that did not yield would never let it run.
    fn answer_after(mut master: crate::link::pty::PtyMaster, delay: Duration) {
        tokio::spawn(async move {
            let mut request = [0u8; 4];
            while master.read_exact(&mut request).await.is_ok() {
                tokio::time::sleep(delay).await;
                request.reverse();
                if master.write_all(&request).await.is_err() {
                    return;
                }
            }
        });
    }

    async fn round_trip(link: &mut BoxLink, request: &[u8; 4]) -> [u8; 4] {
        link.write_all(request).await.unwrap();
        let mut answer = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), link.read_exact(&mut answer))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        answer
    }

    #[tokio::test]
    async fn answers_arrive_whether_they_come_within_the_window_or_after_it() {
        for (window, delay) in [
            // Within: every read tries the descriptor directly.
            (Duration::from_secs(3600), Duration::ZERO),
            (Duration::from_secs(3600), Duration::from_millis(30)),
            // After: the reads go back to waiting on the reactor.
            (Duration::from_millis(1), Duration::from_millis(30)),
        ] {
            let (master, path, _keepalive) = PtyPair::open().unwrap().into_parts();
            answer_after(master, delay);
            let mut client = busy_waiting_client(&path, window);
            for n in 0..5u8 {
                assert_eq!(
                    round_trip(&mut client, &[n, 1, 2, 3]).await,
                    [3, 2, 1, n],
                    "window {window:?}, answer after {delay:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_hang_up_while_busy_waiting_ends_the_read() {
        let pair = PtyPair::open().unwrap();
        let mut client = busy_waiting_client(&pair.slave_path(), Duration::from_secs(3600));
        client.write_all(b"ping").await.unwrap();
        drop(pair);
        let mut buf = [0u8; 4];
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("the hang-up is seen, not waited through");
        assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    }
}
