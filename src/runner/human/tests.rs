use super::*;
use crate::runner::child::{End, Ended};
use crate::runner::discover::Script;

fn job(dir: &Path, name: &str, transcript: &str) -> Job {
    let path = dir.join(format!("{}.log", name.replace('/', "_")));
    std::fs::write(&path, transcript).unwrap();
    Job {
        script: Script::new(PathBuf::from(name)),
        transcript: path,
        sandbox: dir.join("sandbox"),
    }
}

fn outcome(end: End, stderr: &str, transcript: &str) -> Outcome {
    let ended = Ended {
        end,
        elapsed: Duration::from_millis(50),
        stderr: stderr.as_bytes().to_vec(),
        stderr_cut: false,
    };
    Outcome::of(&ended, transcript, Duration::from_secs(2))
}

fn settings() -> Settings {
    Settings {
        jobs: 2,
        timeout: Duration::from_secs(2),
        color: false,
    }
}

#[test]
fn a_line_per_script_details_for_failures_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let log = "2026-12-06T22:05:36.246Z t/fail.smtp:2> expect 220\n\
               2026-12-06T22:05:36.246Z *** t/fail.smtp:2: expected 220, got 250 \x1b[2J\n";
    let pass = job(dir.path(), "t/pass.smtp", "");
    let fail = job(dir.path(), "t/fail.smtp", log);
    let mut h = Human::new(Vec::new(), settings(), None);
    h.start(2);
    assert!(h.result(&pass, &outcome(End::Exited(0), "", "")));
    let stderr = "*** t/fail.smtp:2: expected 220, got 250\n    a hint\n";
    assert!(h.result(&fail, &outcome(End::Exited(5), stderr, log)));
    let summary = Summary {
        total: 2,
        passed: 1,
        failed: 1,
        elapsed: Duration::from_millis(1500),
        ..Summary::default()
    };
    h.finish(&summary, None);
    let text = String::from_utf8(h.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "running 2 scripts, 2 at a time (timeout 2 s each)"
    );
    assert_eq!(lines[1], "ok      t/pass.smtp (0.05 s)");
    assert_eq!(lines[2], "FAIL    t/fail.smtp (0.05 s)");
    assert_eq!(
        lines[3],
        "        t/fail.smtp:2 `expect 220`: expected 220, got 250"
    );
    assert_eq!(lines[4], "            a hint");
    assert_eq!(lines[5], "        the transcript ended with:");
    assert_eq!(lines[6], "        | 22:05:36.246 t/fail.smtp:2> expect 220");
    assert!(lines[7].ends_with("got 250 \\x1B[2J"), "{}", lines[7]);
    assert_eq!(lines[8], "");
    assert_eq!(lines[9], "2 scripts: 1 passed, 1 failed in 1.50 s");
    assert!(!text.contains('\x1b'));
}

#[test]
fn kept_transcripts_are_named_in_the_summary_and_colour_is_optional() {
    let dir = tempfile::tempdir().unwrap();
    let fail = job(dir.path(), "f.smtp", "");
    let mut s = settings();
    s.color = true;
    let mut h = Human::new(Vec::new(), s, Some(dir.path().to_path_buf()));
    h.result(&fail, &outcome(End::TimedOut, "", ""));
    let crash = job(dir.path(), "c.smtp", "");
    h.result(
        &crash,
        &outcome(
            End::Signaled {
                signal: 9,
                core: false,
            },
            "last words\n",
            "",
        ),
    );
    h.finish(
        &Summary {
            total: 2,
            timed_out: 1,
            crashed: 1,
            ..Summary::default()
        },
        Some(Path::new("r.xml")),
    );
    let text = String::from_utf8(h.into_inner()).unwrap();
    assert!(text.contains('\x1b'), "coloured");
    let plain = anstream::adapter::strip_str(&text).to_string();
    assert!(
        plain.contains("TIMEOUT f.smtp (0.05 s)\n        timed out after 2 s\n"),
        "{plain}"
    );
    assert!(plain.contains("CRASH   c.smtp"), "{plain}");
    assert!(plain.contains("killed by signal SIGKILL\n        its standard error ended with:\n        | last words\n"), "{plain}");
    assert!(!plain.contains("the transcript ended with"), "{plain}");
    assert!(
        plain.contains("2 scripts: 0 passed, 0 failed, 1 timed out, 1 crashed in 0.00 s"),
        "{plain}"
    );
    assert!(
        plain.contains(&format!("    {}", fail.transcript.display())),
        "{plain}"
    );
    assert!(plain.contains("JUnit report: r.xml"), "{plain}");
}

#[test]
fn times_are_read_without_their_date() {
    assert_eq!(
        time_of_day("2026-12-06T22:05:36.246Z <-  250 ok"),
        "22:05:36.246 <-  250 ok"
    );
    assert_eq!(time_of_day("no stamp here"), "no stamp here");
    assert_eq!(time_of_day("2026-12-06Tx:y text"), "2026-12-06Tx:y text");
    assert_eq!(seconds(Duration::from_millis(12_345)), "12.3 s");
}

#[test]
fn a_closed_writer_is_noticed() {
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut h = Human::new(Closed, settings(), None);
    assert!(!h.result(
        &job(dir.path(), "a.smtp", ""),
        &outcome(End::Exited(0), "", "")
    ));
}
