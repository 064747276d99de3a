use super::*;

fn ended(end: End, stderr: &str) -> Ended {
    Ended {
        end,
        elapsed: Duration::from_millis(1500),
        stderr: stderr.as_bytes().to_vec(),
        stderr_cut: false,
    }
}

const TIMEOUT: Duration = Duration::from_secs(300);

const TRANSCRIPT: &str = "\
2026-12-06T22:05:36.242Z === smtpsh 0.1.0 transcript (times in UTC)
2026-12-06T22:05:36.243Z t/fail.smtp:1> connect sandbox
2026-12-06T22:05:36.246Z <-  250 HELP
2026-12-06T22:05:36.246Z t/fail.smtp:2> expect 220
2026-12-06T22:05:36.246Z *** t/fail.smtp:2: expected 220, got 250 HELP
2026-12-06T22:05:36.246Z *** stopped at t/fail.smtp:2 (exit status 5)
2026-12-06T22:05:36.247Z  -> QUIT
";

#[test]
fn a_failed_expect_gives_its_location_command_and_reply() {
    let stderr = "*** some warning\n\
                  *** t/fail.smtp:2: expected 220, got 250 HELP\n\
                  *** stopped at t/fail.smtp:2 (exit status 5)\n";
    let o = Outcome::of(&ended(End::Exited(5), stderr), TRANSCRIPT, TIMEOUT);
    let Verdict::Failed(f) = &o.verdict else {
        panic!("{o:?}")
    };
    assert_eq!(f.kind, Kind::Check);
    assert_eq!(f.location.as_deref(), Some("t/fail.smtp:2"));
    assert_eq!(f.command.as_deref(), Some("expect 220"));
    assert_eq!(f.message, "expected 220, got 250 HELP");
    assert_eq!(
        o.reason(),
        "t/fail.smtp:2 `expect 220`: expected 220, got 250 HELP"
    );
    assert_eq!(o.severity(), Severity::Failure);
    assert_eq!((o.label(), o.location()), ("FAIL", Some("t/fail.smtp:2")));
}

#[test]
fn hints_follow_the_error_and_a_local_error_is_an_error() {
    let stderr = "*** a b.smtp:7: unknown command 'sned'\n    did you mean `send`?\n    \
                  (`help` lists every command)\n*** stopped at a b.smtp:7 (exit status 1)\n";
    let o = Outcome::of(&ended(End::Exited(1), stderr), "", TIMEOUT);
    let Verdict::Failed(f) = &o.verdict else {
        panic!("{o:?}")
    };
    assert_eq!(f.location.as_deref(), Some("a b.smtp:7"));
    assert_eq!(f.command, None);
    assert_eq!(f.message, "unknown command 'sned'");
    assert_eq!(
        f.hints,
        ["did you mean `send`?", "(`help` lists every command)"]
    );
    assert_eq!(o.severity(), Severity::Error);
    assert_eq!(o.reason(), "a b.smtp:7: unknown command 'sned'");
}

#[test]
fn without_a_stopped_line_the_location_is_read_from_the_error() {
    // A sourced file fails, and the colon in the script's name is no trouble.
    let stderr = "*** x:y.smtp:3: connection refused by 127.0.0.1:1\n";
    let o = Outcome::of(&ended(End::Exited(3), stderr), "", TIMEOUT);
    let Verdict::Failed(f) = &o.verdict else {
        panic!("{o:?}")
    };
    assert_eq!(f.location.as_deref(), Some("x:y.smtp:3"));
    assert_eq!(f.message, "connection refused by 127.0.0.1:1");
    assert_eq!(f.kind, Kind::Connection);
    // No location at all: the last error line as it is.
    let f = failure(Kind::Local, 1, "*** cannot open the script x: gone\n", "");
    assert_eq!(
        (f.location, f.message.as_str()),
        (None, "cannot open the script x: gone")
    );
    // Nothing on standard error: the kind and status.
    let f = failure(Kind::Refused, 4, "", "");
    assert_eq!(f.message, "refused by the server (exit status 4)");
}

#[test]
fn control_characters_from_standard_error_never_reach_the_reason() {
    let stderr = "*** s.smtp:1: bad \x1b[2J\u{202e} reply\n    hint \x07\n";
    let o = Outcome::of(&ended(End::Exited(4), stderr), "", TIMEOUT);
    let Verdict::Failed(f) = &o.verdict else {
        panic!("{o:?}")
    };
    assert!(!o.reason().contains('\x1b') && !o.reason().contains('\u{202e}'));
    assert!(!f.hints[0].contains('\x07'));
    assert!(o.stderr_tail(5).iter().all(|l| !l.contains('\x1b')));
}

#[test]
fn signals_panics_and_unknown_statuses_are_crashes() {
    let o = Outcome::of(
        &ended(
            End::Signaled {
                signal: 11,
                core: true,
            },
            "",
        ),
        "",
        TIMEOUT,
    );
    assert_eq!(o.reason(), "killed by signal SIGSEGV (core dumped)");
    assert_eq!((o.label(), o.severity()), ("CRASH", Severity::Error));
    let o = Outcome::of(
        &ended(End::Exited(101), "thread 'main' panicked"),
        "",
        TIMEOUT,
    );
    assert!(o.reason().contains("status 101") && o.reason().contains("panicked"));
    for code in [2, 7, 141, -1] {
        let o = Outcome::of(&ended(End::Exited(code), ""), "", TIMEOUT);
        assert_eq!(o.label(), "CRASH", "{code}");
    }
    let o = Outcome::of(
        &ended(
            End::Signaled {
                signal: 99,
                core: false,
            },
            "",
        ),
        "",
        TIMEOUT,
    );
    assert_eq!(o.reason(), "killed by signal 99");
    let o = Outcome::of(
        &ended(End::NotStarted("cannot start x".into()), ""),
        "",
        TIMEOUT,
    );
    assert_eq!(
        (o.label(), o.reason().as_str()),
        ("CRASH", "cannot start x")
    );
}

#[test]
fn a_timeout_says_what_the_script_was_doing() {
    let transcript = "2026-12-06T22:05:36.243Z h.smtp:1> connect 127.0.0.1 2525\n\
                      2026-12-06T22:05:36.245Z === connecting to 127.0.0.1:2525\n";
    let o = Outcome::of(
        &ended(End::TimedOut, ""),
        transcript,
        Duration::from_secs(2),
    );
    assert_eq!(
        o.reason(),
        "timed out after 2 s at h.smtp:1 `connect 127.0.0.1 2525`"
    );
    assert_eq!(o.location(), Some("h.smtp:1"));
    let o = Outcome::of(&ended(End::TimedOut, ""), "", Duration::from_secs(2));
    assert_eq!(o.reason(), "timed out after 2 s");
    assert_eq!((o.label(), o.severity()), ("TIMEOUT", Severity::Error));
}

#[test]
fn interrupts_and_skips() {
    for end in [End::Exited(130), End::Stopped] {
        let o = Outcome::of(&ended(end, ""), "", TIMEOUT);
        assert_eq!(o.verdict, Verdict::Interrupted { at: None });
        assert_eq!(o.reason(), "interrupted");
        assert_eq!(o.severity(), Severity::Error);
    }
    let o = Outcome::not_run("not run: --fail-fast");
    assert_eq!((o.label(), o.severity()), ("SKIPPED", Severity::Skipped));
    assert!(Outcome::of(&ended(End::Exited(0), ""), "", TIMEOUT).passed());
}

#[test]
fn locations_are_split_at_the_line_number() {
    assert_eq!(
        split_location("a.smtp:12: m: x"),
        Some(("a.smtp:12", "m: x"))
    );
    assert_eq!(split_location("a:b.smtp:1: m"), Some(("a:b.smtp:1", "m")));
    assert_eq!(split_location("no location: here"), None);
    assert_eq!(split_location(":1: m"), None);
    assert_eq!(split_location("x:12:"), None);
}

#[test]
fn commands_are_read_from_the_transcript() {
    assert_eq!(
        command_at(TRANSCRIPT, "t/fail.smtp:1").as_deref(),
        Some("connect sandbox")
    );
    assert_eq!(command_at(TRANSCRIPT, "t/fail.smtp:9"), None);
    assert_eq!(
        last_command(TRANSCRIPT),
        Some(("t/fail.smtp:2".to_string(), "expect 220".to_string()))
    );
    assert_eq!(last_command("x <-  250 a:1> b\nx === c:2> d\n"), None);
}
