use super::*;
use crate::runner::child::{End, Ended};

fn child<'a, 'i>(case: &roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    case.children().find(|n| n.has_tag_name(tag))
}

fn outcome(end: End, stderr: &str, transcript: &str) -> Outcome {
    let ended = Ended {
        end,
        elapsed: Duration::from_millis(1234),
        stderr: stderr.as_bytes().to_vec(),
        stderr_cut: false,
    };
    Outcome::of(&ended, transcript, Duration::from_secs(2))
}

const HOSTILE: &[u8] = b"2026-12-06T22:05:36.246Z <-  250 nul\x00 esc\x1b[31m bell\x07 ]]> <&> \"q\" \xff\xfe \xef\xbf\xbf cr\r\n";

#[test]
fn the_report_parses_and_counts_and_names_every_script() {
    let dir = tempfile::tempdir().unwrap();
    let scripts: Vec<Script> = [
        "t/pass.smtp",
        "t/fail.smtp",
        "t/hang.smtp",
        "t/later <&>.smtp",
    ]
    .iter()
    .map(|n| Script::new(PathBuf::from(n)))
    .collect();
    let transcripts: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("{i}.log")))
        .collect();
    std::fs::write(&transcripts[0], "2026-12-06T22:05:36.246Z ok\n").unwrap();
    let mut fail_log = b"2026-12-06T22:05:36.246Z t/fail.smtp:3> expect 550\n".to_vec();
    fail_log.extend_from_slice(HOSTILE);
    std::fs::write(&transcripts[1], &fail_log).unwrap();
    let outcomes = [
        outcome(End::Exited(0), "", ""),
        outcome(
            End::Exited(5),
            "*** t/fail.smtp:3: expected 550, got 250 \x1b ]]> <ok>\n    a hint\n\
             *** stopped at t/fail.smtp:3 (exit status 5)\n",
            &String::from_utf8_lossy(&fail_log),
        ),
        outcome(End::TimedOut, "", ""),
        Outcome::not_run("not run: --fail-fast"),
    ];
    let cases: Vec<Case<'_>> = (0..4)
        .map(|i| Case {
            script: &scripts[i],
            outcome: &outcomes[i],
            transcript: &transcripts[i],
        })
        .collect();
    let bytes = xml(&Report {
        cases: &cases,
        elapsed: Duration::from_millis(2500),
        started_at: SystemTime::UNIX_EPOCH,
    })
    .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    for node in [root, suite] {
        assert_eq!(node.attribute("tests"), Some("4"));
        assert_eq!(node.attribute("failures"), Some("1"));
        assert_eq!(node.attribute("errors"), Some("1"));
        assert_eq!(node.attribute("skipped"), Some("1"));
        assert_eq!(node.attribute("time"), Some("2.500"));
        assert_eq!(node.attribute("timestamp"), Some("1970-01-01T00:00:00Z"));
    }
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "t/pass.smtp",
            "t/fail.smtp",
            "t/hang.smtp",
            "t/later <&>.smtp"
        ]
    );
    assert_eq!(cases[1].attribute("time"), Some("1.234"));
    assert_eq!(cases[1].attribute("classname"), Some("smtpsh"));
    assert!(child(&cases[0], "failure").is_none() && child(&cases[0], "error").is_none());
    let failure = child(&cases[1], "failure").unwrap();
    let message = failure.attribute("message").unwrap();
    assert!(
        message.starts_with("t/fail.smtp:3 `expect 550`: expected 550, got 250"),
        "{message}"
    );
    assert!(
        message.contains("]]> <ok>") && !message.contains('\x1b'),
        "{message}"
    );
    assert_eq!(failure.attribute("type"), Some("check failed"));
    let body = failure.text().unwrap();
    assert!(
        body.contains("a hint") && body.contains("exit status 5"),
        "{body}"
    );
    // The transcript, markup and all, control characters shown as \xNN.
    let out = child(&cases[1], "system-out").unwrap().text().unwrap();
    assert!(out.contains("t/fail.smtp:3> expect 550"), "{out}");
    assert!(out.contains("]]> <&> \"q\""), "{out}");
    assert!(out.contains("nul\\x00 esc\\x1B[31m bell\\x07"), "{out}");
    assert!(out.contains("\\xFF\\xFE \\xEF\\xBF\\xBF cr\r"), "{out:?}");
    let err = child(&cases[1], "system-err").unwrap().text().unwrap();
    assert!(err.contains("stopped at t/fail.smtp:3"), "{err}");
    let error = child(&cases[2], "error").unwrap();
    assert_eq!(error.attribute("type"), Some("timeout"));
    assert_eq!(error.attribute("message"), Some("timed out after 2 s"));
    assert!(
        child(&cases[2], "system-out").is_none(),
        "no transcript file"
    );
    let skipped = child(&cases[3], "skipped").unwrap();
    assert_eq!(skipped.attribute("message"), Some("not run: --fail-fast"));
}

#[test]
fn xml_text_keeps_what_xml_allows_and_escapes_the_rest() {
    assert_eq!(xml_text(b"a\tb\nc\rd <&>]]>"), "a\tb\nc\rd <&>]]>");
    assert_eq!(
        xml_text(b"\x00\x01\x0b\x0c\x1f\x7f"),
        "\\x00\\x01\\x0B\\x0C\\x1F\\x7F"
    );
    assert_eq!(
        xml_text("\u{85}\u{fffe}\u{ffff}".as_bytes()),
        "\\xC2\\x85\\xEF\\xBF\\xBE\\xEF\\xBF\\xBF"
    );
    assert_eq!(xml_text(b"ok \xc3\xa9 \xc3"), "ok \u{e9} \\xC3");
    assert_eq!(one_line("a\nb\tc"), "a b c");
}

#[test]
fn a_report_file_is_made_with_its_directory_or_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep/er/r.xml");
    let file = ReportFile::create(&path).unwrap();
    assert!(path.exists());
    file.write(&Report {
        cases: &[],
        elapsed: Duration::ZERO,
        started_at: SystemTime::UNIX_EPOCH,
    })
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    std::fs::write(dir.path().join("plain"), "").unwrap();
    let e = ReportFile::create(&dir.path().join("plain/r.xml")).unwrap_err();
    assert!(
        e.message.contains("cannot write the JUnit report"),
        "{}",
        e.message
    );
}
