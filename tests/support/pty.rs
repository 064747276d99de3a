//! What the pseudo-terminal tests share: the prompt marker and typing a
//! line as a person does.

#![allow(dead_code)]

use expectrl::Expect;

/// Marks the start of every line-editor prompt (bracketed paste on).
pub const PROMPT_START: &str = "\x1b[?2004h";

/// Types `keys` + Enter, waits for the next prompt, returns what was shown
/// in between (a person waits for the prompt too: typed-ahead lines may be
/// read by the editor before the command runs).
pub fn type_line(s: &mut expectrl::session::OsSession, keys: &str) -> String {
    s.send(keys).unwrap();
    s.send("\r").unwrap();
    let cap = s
        .expect(PROMPT_START)
        .unwrap_or_else(|e| panic!("no prompt after {keys:?}: {e}"));
    String::from_utf8_lossy(cap.before()).into_owned()
}
