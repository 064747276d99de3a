//! The byte streams a [`Connection`](super::Connection) runs over: TCP,
//! UNIX-domain sockets, TLS (in [`crate::smtp::tls`]), and test doubles.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A byte stream a [`Connection`] can run over.
///
/// The socket methods do nothing by default, for streams with no socket
/// underneath (test doubles, a stream handed over to TLS); every stream
/// over a socket implements them.
pub trait Stream: Read + Write + Send {
    /// Sets the read timeout of the underlying socket (used in short slices
    /// so that interruption and deadlines are checked while waiting).
    fn set_read_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    /// Sets the write timeout of the underlying socket.
    fn set_write_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    /// Closes both directions at once.
    fn shutdown(&self) -> io::Result<()> {
        Ok(())
    }
    /// Says goodbye inside the protocol before the socket closes (TLS:
    /// close_notify). Best effort; nothing by default.
    fn close_notify(&mut self) {}
    /// The socket underneath, for waiting on it with `poll(2)` (`None`
    /// when there is none, as for test doubles).
    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }
}

/// Stands in for a stream that was handed to the TLS layer.
pub(super) struct Gone;

impl Read for Gone {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Write for Gone {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Gone {}

/// [`Stream`] for a socket type whose inherent methods have these names
/// (TCP and UNIX-domain sockets).
macro_rules! socket_stream {
    ($socket:ty) => {
        impl Stream for $socket {
            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$socket>::set_read_timeout(self, timeout)
            }
            fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$socket>::set_write_timeout(self, timeout)
            }
            fn shutdown(&self) -> io::Result<()> {
                <$socket>::shutdown(self, std::net::Shutdown::Both)
            }
            fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
                Some(self.as_fd())
            }
        }
    };
}

socket_stream!(TcpStream);
socket_stream!(UnixStream);
