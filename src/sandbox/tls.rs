//! The server's TLS stream after STARTTLS. rustls' own `StreamOwned` keeps
//! reading the socket for as long as bytes come, until a record is whole;
//! here each read of the stream reads the socket at most once, so a client
//! that trickles its handshake or a record a byte at a time still lets
//! [`super::lines::Conn`] look at its deadline between any two reads.

use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

/// A server-side TLS connection over TCP.
pub struct TlsStream {
    tls: ServerConnection,
    sock: TcpStream,
}

fn waiting(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl TlsStream {
    /// Runs the handshake on `sock` (whose reads time out in short
    /// slices), giving up at `deadline`.
    pub fn accept(
        config: Arc<rustls::ServerConfig>,
        sock: TcpStream,
        deadline: Instant,
    ) -> io::Result<TlsStream> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        let mut s = TlsStream { tls, sock };
        while s.tls.is_handshaking() {
            s.write_out()?;
            if !s.tls.is_handshaking() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(io::ErrorKind::TimedOut.into());
            }
            match s.read_in() {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if waiting(&e) => {}
                Err(e) => return Err(e),
            }
        }
        s.write_out()?;
        Ok(s)
    }

    /// Reads the socket once and processes what came; a TLS error sends
    /// its alert and ends the connection.
    fn read_in(&mut self) -> io::Result<usize> {
        let n = self.tls.read_tls(&mut self.sock)?;
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.write_out();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(n)
    }

    /// Writes every TLS record waiting to go out.
    fn write_out(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            self.tls.write_tls(&mut self.sock)?;
        }
        Ok(())
    }

    /// Sends close_notify (best effort): the conversation is over.
    pub fn close(mut self) {
        self.tls.send_close_notify();
        let _ = self.write_out();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.tls.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other,
        }
        if self.read_in()? == 0 {
            // The socket ended: the reader says whether cleanly (0) or not.
            return self.tls.reader().read(buf);
        }
        self.write_out()?;
        // Still no whole record: "would block", so the caller looks at its
        // deadline before reading again.
        self.tls.reader().read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(buf)?;
        self.write_out()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tls.writer().flush()?;
        self.write_out()
    }
}
