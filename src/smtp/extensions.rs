//! The service extensions a server announces in its EHLO reply
//! (RFC 5321 §4.1.1.1). Unknown keywords are kept; keywords compare
//! case-insensitively.

use super::reply::Reply;

/// One announced extension: its keyword (as sent) and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The keyword as the server wrote it, e.g. `SIZE`, `AUTH`, `8BITMIME`.
    pub keyword: String,
    /// Space-separated parameters after the keyword, e.g. `["PLAIN", "LOGIN"]`.
    pub params: Vec<String>,
}

/// Everything learned from one EHLO reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The server's name from the first line of the EHLO reply.
    pub domain: String,
    /// The extensions in the order announced (empty lines skipped).
    pub list: Vec<Extension>,
}

impl Extensions {
    /// Reads a 250 EHLO reply: the first line is `domain [greeting]`, each
    /// further line one extension.
    pub fn from_ehlo(reply: &Reply) -> Extensions {
        todo!()
    }
    /// Whether `keyword` was announced (case-insensitive).
    pub fn has(&self, keyword: &str) -> bool {
        self.get(keyword).is_some()
    }
    /// The extension named `keyword` (case-insensitive).
    pub fn get(&self, keyword: &str) -> Option<&Extension> {
        todo!()
    }
    /// The SIZE limit: `Some(0)` means announced without a limit; `None`
    /// when SIZE was not announced or its value is not a number.
    pub fn size_limit(&self) -> Option<u64> {
        todo!()
    }
    /// AUTH mechanisms, upper case, in announced order (also reads the old
    /// `AUTH=PLAIN LOGIN` form).
    pub fn auth_mechanisms(&self) -> Vec<String> {
        todo!()
    }
}
