use super::*;
use crate::runner::child::{End, Ended};
use crate::runner::discover::Script;

fn outcome(end: End) -> Outcome {
    let ended = Ended {
        end,
        elapsed: Duration::from_millis(10),
        stderr: Vec::new(),
        stderr_cut: false,
    };
    Outcome::of(&ended, "", Duration::from_secs(1))
}

#[test]
fn the_summary_counts_every_kind() {
    let outcomes = [
        outcome(End::Exited(0)),
        outcome(End::Exited(5)),
        outcome(End::Exited(4)),
        outcome(End::TimedOut),
        outcome(End::Signaled {
            signal: 6,
            core: false,
        }),
        outcome(End::Stopped),
        Outcome::not_run("x"),
    ];
    let s = Summary::of(&outcomes, Duration::from_secs(1), false);
    assert_eq!(
        s.counts(),
        "7 scripts: 1 passed, 2 failed, 1 timed out, 1 crashed, 1 interrupted, 1 not run"
    );
    let one = Summary::of(&outcomes[..1], Duration::ZERO, false);
    assert_eq!(one.counts(), "1 script: 1 passed, 0 failed");
}

#[test]
fn tap_is_version_14_with_a_plan_and_yaml_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let job = |name: &str| Job {
        script: Script::new(PathBuf::from(name)),
        transcript: dir.path().join(format!("{name}.log")),
        sandbox: dir.path().join("s"),
    };
    let mut t = tap::Tap::new(Vec::new(), 3, true);
    t.start();
    t.result(1, &job("a#1.smtp"), &outcome(End::Exited(0)));
    t.result(2, &job("b.smtp"), &outcome(End::Exited(5)));
    t.result(3, &job("c.smtp"), &Outcome::not_run("not run: --fail-fast"));
    t.finish(&Summary {
        total: 3,
        passed: 1,
        failed: 1,
        not_run: 1,
        ..Summary::default()
    });
    let text = String::from_utf8(t.into_inner()).unwrap();
    let transcript = dir.path().join("b.smtp.log");
    let expected = format!(
        "TAP version 14\n1..3\nok 1 - a\\#1.smtp\nnot ok 2 - b.smtp\n  ---\n  \
         message: \"check failed (exit status 5)\"\n  severity: failure\n  \
         kind: \"check failed\"\n  exit_status: 5\n  duration_ms: 10\n  \
         transcript: \"{}\"\n  ...\nok 3 - c.smtp # SKIP not run: --fail-fast\n\
         # 3 scripts: 1 passed, 1 failed, 1 not run in 0.00 s\n",
        transcript.display()
    );
    assert_eq!(text, expected);
}
