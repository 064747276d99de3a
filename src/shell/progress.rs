//! Feedback while `send` uploads a message: a progress bar on standard
//! error (bytes sent, rate, time left) for uploads that take more than a
//! second, and the `time` line printed after the server's reply.
//!
//! The bar is drawn only when standard error is a terminal, appears once
//! the upload has run for [`SHOW_AFTER`], is redrawn at most every
//! [`REDRAW_EVERY`] (a clock read per write of content, which comes in
//! blocks of tens of KiB, is all it costs otherwise), and is erased before
//! anything else is printed: the content line, the server's reply, an
//! error. It never wraps: it is fitted to the terminal's current width at
//! each redraw ([`render_within`]).

use super::output::short_bytes;
use crate::mime::ContentSink;
use crate::smtp::conn::{BdatWriter, ConnError, DataWriter, Observer};
use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// Uploads shorter than this show no bar.
pub const SHOW_AFTER: Duration = Duration::from_secs(1);
/// The bar is redrawn at most this often.
pub const REDRAW_EVERY: Duration = Duration::from_millis(100);
/// Width of the bar itself, in characters.
const BAR_WIDTH: usize = 24;

/// A progress bar for one upload of `total` bytes.
pub struct Progress {
    /// Where the bar goes (standard error); `None` draws nothing.
    out: Option<Box<dyn Write>>,
    total: u64,
    done: u64,
    start: Instant,
    last_draw: Option<Instant>,
    /// Whether a bar is on the screen now (and needs erasing).
    shown: bool,
    /// The terminal's width now, if it has one.
    columns: Box<dyn Fn() -> Option<usize>>,
}

impl Progress {
    /// A bar on standard error if it is a terminal, else a silent counter.
    pub fn on_stderr(total: u64) -> Progress {
        let out: Option<Box<dyn Write>> = if io::stderr().is_terminal() {
            Some(Box::new(io::stderr()))
        } else {
            None
        };
        Progress::new(total, out, Instant::now()).within(super::output::stderr_columns)
    }
    /// A bar drawn to `out` (`None`: never drawn), started at `start`.
    pub fn new(total: u64, out: Option<Box<dyn Write>>, start: Instant) -> Progress {
        Progress {
            out,
            total,
            done: 0,
            start,
            last_draw: None,
            shown: false,
            columns: Box::new(|| None),
        }
    }
    /// The bar fitted to the width `columns` gives at each redraw.
    pub fn within(mut self, columns: impl Fn() -> Option<usize> + 'static) -> Progress {
        self.columns = Box::new(columns);
        self
    }
    /// Bytes counted so far.
    pub fn done(&self) -> u64 {
        self.done
    }
    /// Counts `n` more bytes, redrawing if it is time.
    pub fn add(&mut self, n: u64) {
        self.add_at(n, Instant::now());
    }
    /// [`Progress::add`] with the clock given (for tests).
    pub fn add_at(&mut self, n: u64, now: Instant) {
        self.done = self.done.saturating_add(n);
        if self.out.is_none() {
            return;
        }
        let elapsed = now.saturating_duration_since(self.start);
        if elapsed < SHOW_AFTER {
            return;
        }
        if self
            .last_draw
            .is_some_and(|t| now.saturating_duration_since(t) < REDRAW_EVERY)
        {
            return;
        }
        self.last_draw = Some(now);
        let line = match (self.columns)() {
            Some(cols) => render_within(self.done, self.total, elapsed, cols),
            None => render(self.done, self.total, elapsed),
        };
        if let Some(out) = self.out.as_mut() {
            // `\r`, the bar, erase to the end of the line.
            let _ = write!(out, "\r{line}\x1b[K");
            let _ = out.flush();
            self.shown = true;
        }
    }
    /// Erases the bar if it is on the screen. Call before printing.
    pub fn clear(&mut self) {
        if self.shown
            && let Some(out) = self.out.as_mut()
        {
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
        }
        self.shown = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// One frame of the bar:
/// `  45.2 MiB / 136.8 MiB [########----------------]  33%  120.3 MiB/s  ETA 0:01`.
pub fn render(done: u64, total: u64, elapsed: Duration) -> String {
    render_within(done, total, elapsed, usize::MAX)
}

/// The narrowest the bar itself gets before it is left out.
const BAR_MIN: usize = 10;

/// One frame of the bar in fewer than `columns` characters (the last
/// column stays empty: a line that reaches it wraps on some terminals).
/// When the whole frame does not fit, the bar shortens to [`BAR_MIN`],
/// then the rate goes, then the bar, the time left, the total.
pub fn render_within(done: u64, total: u64, elapsed: Duration, columns: usize) -> String {
    let room = columns.saturating_sub(1);
    let fraction = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let eta = if rate > 0.0 {
        let left = total.saturating_sub(done) as f64 / rate;
        format!("ETA {}", clock(left))
    } else {
        "ETA -:--".to_string()
    };
    let sizes = format!("{} / {}", short_bytes(done), short_bytes(total));
    let pct = format!("{:>3}%", (fraction * 100.0) as u32);
    let rate = format!("{}/s", short_rate(rate));
    // With the bar as wide as there is room for, up to BAR_WIDTH; the
    // rate goes before the bar does.
    for tail in [format!("{pct}  {rate}  {eta}"), format!("{pct}  {eta}")] {
        let around = format!("  {sizes} [] {tail}").chars().count();
        let bar_room = room.saturating_sub(around).min(BAR_WIDTH);
        if bar_room >= BAR_MIN {
            let filled = ((fraction * bar_room as f64) as usize).min(bar_room);
            let bar = "#".repeat(filled) + &"-".repeat(bar_room - filled);
            return format!("  {sizes} [{bar}] {tail}");
        }
    }
    let done_only = short_bytes(done);
    [
        format!("  {sizes} {pct}  {eta}"),
        format!("  {sizes} {pct}"),
        format!("  {done_only} {pct}"),
        format!("{done_only} {pct}"),
        pct.trim_start().to_string(),
    ]
    .into_iter()
    .find(|frame| frame.chars().count() <= room)
    .unwrap_or_default()
}

/// `0:07`, `2:05`, `1:02:03`.
fn clock(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A rate in bytes per second, without the `/s`: `512 B`, `3.1 KiB`,
/// `144.0 MiB`, `1.21 GiB`.
fn short_rate(per_sec: f64) -> String {
    super::output::scaled(per_sec, "B")
}

/// `0.95 s`, `12.3 s`, `125 s`, `4.2 ms`.
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.01 {
        format!("{:.1} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else if s < 100.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// The line printed after `send`: bytes on the wire, time, rate, e.g.
/// `136.8 MiB on the wire in 0.95 s (144.0 MiB/s)`.
pub fn time_line(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        format!(" ({}/s)", short_rate(bytes as f64 / secs))
    } else {
        String::new()
    };
    format!(
        "{} on the wire in {}{rate}",
        short_bytes(bytes),
        seconds(elapsed)
    )
}

/// A [`ContentSink`] that counts what passes into a [`Progress`].
pub struct Meter<'a, S: ContentSink + ?Sized> {
    inner: &'a mut S,
    progress: &'a mut Progress,
}

impl<'a, S: ContentSink + ?Sized> Meter<'a, S> {
    /// Counts the bytes written to `inner` into `progress`.
    pub fn new(inner: &'a mut S, progress: &'a mut Progress) -> Self {
        Meter { inner, progress }
    }
}

impl<S: ContentSink + ?Sized> Write for Meter<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)?;
        self.progress.add(buf.len() as u64);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<S: ContentSink + ?Sized> ContentSink for Meter<'_, S> {
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.inner.write_clean_lines(lines)?;
        self.progress.add(lines.len() as u64);
        Ok(())
    }
}

/// The writer for the content of one message: DATA or a BDAT chunk.
pub enum Upload<'a> {
    /// After DATA's 354: dot-stuffed, ended by `<CRLF>.<CRLF>`.
    Data(DataWriter<'a>),
    /// One `BDAT <size> LAST` chunk.
    Bdat(BdatWriter<'a>),
}

impl Upload<'_> {
    /// Ends the content (the final dot, or the end of the chunk); returns
    /// the bytes put on the wire. The caller then reads the reply.
    pub fn finish(self, observer: &mut dyn Observer) -> Result<u64, ConnError> {
        match self {
            Upload::Data(w) => w.finish(observer),
            Upload::Bdat(w) => w.finish(observer),
        }
    }
}

impl Write for Upload<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Upload::Data(w) => w.write(buf),
            Upload::Bdat(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Upload::Data(w) => w.write_all(buf),
            Upload::Bdat(w) => w.write_all(buf),
        }
    }
    /// Nothing: [`Upload::finish`] flushes. Flushing when the message
    /// writer is done would send the last block of content on its own, and
    /// the final dot in a second segment after it.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ContentSink for Upload<'_> {
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        match self {
            Upload::Data(w) => w.write_clean_lines(lines),
            Upload::Bdat(w) => w.write_clean_lines(lines),
        }
    }
}

impl ContentSink for DataWriter<'_> {
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        DataWriter::write_clean_lines(self, lines)
    }
}

impl ContentSink for BdatWriter<'_> {
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        BdatWriter::write_clean_lines(self, lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A terminal stand-in that keeps what was drawn.
    #[derive(Clone, Default)]
    struct Screen(Rc<RefCell<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Screen {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.borrow()).into_owned()
        }
        fn frames(&self) -> usize {
            self.text().matches("/s  ETA").count()
        }
    }

    #[test]
    fn a_frame_shows_bytes_rate_and_time_left() {
        let mib = 1024 * 1024;
        let line = render(50 * mib, 200 * mib, Duration::from_secs(2));
        assert_eq!(
            line,
            "  50.0 MiB / 200.0 MiB [######------------------]  25%  25.0 MiB/s  ETA 0:06"
        );
        assert!(line.chars().count() < 80, "fits a terminal: {line}");
        let done = render(200 * mib, 200 * mib, Duration::from_secs(4));
        assert!(done.contains("100%") && done.contains("ETA 0:00"), "{done}");
        assert!(render(0, 0, Duration::ZERO).contains("ETA -:--"));
        assert_eq!(clock(3723.0), "1:02:03");
    }

    #[test]
    fn a_narrow_terminal_shortens_the_bar_then_drops_fields() {
        let mib = 1024 * 1024;
        let frame = |cols| render_within(50 * mib, 200 * mib, Duration::from_secs(2), cols);
        let full = "  50.0 MiB / 200.0 MiB [######------------------]  25%  25.0 MiB/s  ETA 0:06";
        assert_eq!(frame(200), full);
        assert_eq!(frame(full.len() + 1), full);
        // Narrower: the bar shortens, the rate goes, then the bar, ...
        assert_eq!(
            frame(70),
            "  50.0 MiB / 200.0 MiB [####-------------]  25%  25.0 MiB/s  ETA 0:06"
        );
        assert_eq!(
            frame(60),
            "  50.0 MiB / 200.0 MiB [####---------------]  25%  ETA 0:06"
        );
        assert_eq!(frame(45), "  50.0 MiB / 200.0 MiB  25%  ETA 0:06");
        assert_eq!(frame(30), "  50.0 MiB / 200.0 MiB  25%");
        assert_eq!(frame(20), "  50.0 MiB  25%");
        assert_eq!(frame(15), "50.0 MiB  25%");
        assert_eq!(frame(6), "25%");
        assert_eq!(frame(1), "");
        for cols in 0..120 {
            assert!(frame(cols).chars().count() < cols.max(1), "{cols}");
        }
    }

    #[test]
    fn the_bar_follows_the_width_at_each_redraw() {
        let screen = Screen::default();
        let t0 = Instant::now();
        let width = Rc::new(std::cell::Cell::new(100));
        let w = width.clone();
        let mut p = Progress::new(1 << 30, Some(Box::new(screen.clone())), t0)
            .within(move || Some(w.get()));
        p.add_at(1 << 20, t0 + Duration::from_secs(2));
        width.set(40);
        p.add_at(1 << 20, t0 + Duration::from_secs(3));
        let text = screen.text();
        let frames: Vec<&str> = text.split('\r').filter(|f| !f.is_empty()).collect();
        assert_eq!(frames.len(), 2, "{text:?}");
        let frames: Vec<&str> = frames
            .iter()
            .filter_map(|f| f.strip_suffix("\x1b[K"))
            .collect();
        assert!(frames[0].contains(" [-"), "{frames:?}");
        assert!(
            !frames[1].contains(" [") && frames[1].len() < 40,
            "{frames:?}"
        );
    }

    #[test]
    fn nothing_is_drawn_in_the_first_second() {
        let screen = Screen::default();
        let t0 = Instant::now();
        let mut p = Progress::new(1000, Some(Box::new(screen.clone())), t0);
        for ms in (0..1000).step_by(10) {
            p.add_at(1, t0 + Duration::from_millis(ms));
        }
        assert_eq!(screen.text(), "");
        p.clear();
        assert_eq!(screen.text(), "", "nothing to erase");
        assert_eq!(p.done(), 100);
    }

    #[test]
    fn redrawn_at_most_ten_times_a_second_then_erased() {
        let screen = Screen::default();
        let t0 = Instant::now();
        let mut p = Progress::new(1 << 30, Some(Box::new(screen.clone())), t0);
        // Three seconds of writes every millisecond: 3000 writes.
        for ms in 0..3000 {
            p.add_at(4096, t0 + Duration::from_millis(ms));
        }
        let frames = screen.frames();
        assert!((19..=21).contains(&frames), "{frames} frames in 2 s");
        assert!(screen.text().starts_with('\r'));
        drop(p);
        assert!(
            screen.text().ends_with("\r\x1b[K"),
            "erased when done: {:?}",
            screen.text()
        );
    }

    #[test]
    fn no_terminal_no_output() {
        let t0 = Instant::now();
        let mut p = Progress::new(10, None, t0);
        p.add_at(5, t0 + Duration::from_secs(5));
        p.clear();
        assert_eq!(p.done(), 5);
    }

    #[test]
    fn the_time_line_reads_well() {
        let mib = 1024 * 1024;
        assert_eq!(
            time_line(143_490_060, Duration::from_millis(950)),
            "136.8 MiB on the wire in 0.95 s (144.0 MiB/s)"
        );
        assert_eq!(
            time_line(412, Duration::from_micros(4200)),
            "412 bytes on the wire in 4.2 ms (95.8 KiB/s)"
        );
        assert_eq!(
            time_line(1400 * mib, Duration::from_secs(12)),
            "1.37 GiB on the wire in 12.0 s (116.7 MiB/s)"
        );
        assert_eq!(
            time_line(3, Duration::ZERO),
            "3 bytes on the wire in 0.0 ms"
        );
    }

    #[test]
    fn the_meter_counts_both_kinds_of_writes() {
        struct Sink(Vec<u8>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl ContentSink for Sink {}
        let mut sink = Sink(Vec::new());
        let mut p = Progress::new(100, None, Instant::now());
        {
            let mut m = Meter::new(&mut sink, &mut p);
            m.write_all(b"head\r\n").expect("write");
            m.write_clean_lines(b"QUJD\r\n").expect("write");
        }
        assert_eq!(p.done(), 12);
        assert_eq!(sink.0, b"head\r\nQUJD\r\n");
    }
}
