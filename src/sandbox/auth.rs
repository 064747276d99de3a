//! AUTH on the server side: PLAIN (RFC 4616) and LOGIN (the Murchison
//! draft), with or without an initial response (RFC 4954), `*` to cancel.
//! The password is compared in constant time.

use super::lines::{Conn, Line};
use super::parse;
use super::session::{MAX_AUTH_LINE, Reply, Session, reply};
use base64::Engine as _;
use std::io::{self, Read, Write};

impl Session<'_> {
    /// Runs one AUTH exchange; the reply is the outcome (235, 535, 501...).
    pub(super) fn auth<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        arg: &[u8],
    ) -> io::Result<Reply> {
        let Some(account) = self.shared.config.auth.clone() else {
            return Ok(reply(502, "5.5.1", "AUTH is not offered by this server"));
        };
        if self.helo.is_none() || !self.esmtp {
            return Ok(reply(503, "5.5.1", "Send EHLO first"));
        }
        if !self.auth_allowed() {
            return Ok(reply(
                538,
                "5.7.11",
                "Encryption required for authentication from the network: STARTTLS first",
            ));
        }
        if self.auth.is_some() {
            return Ok(reply(503, "5.5.1", "Already authenticated"));
        }
        if self.txn.is_some() {
            return Ok(reply(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ));
        }
        let mut words = arg.split(|&b| b == b' ');
        let mech = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next();
        if words.next().is_some() || mech.is_empty() {
            return Ok(reply(
                501,
                "5.5.4",
                "Syntax: AUTH MECHANISM [INITIAL-RESPONSE]",
            ));
        }
        let (user, password) = match mech.as_slice() {
            b"PLAIN" => {
                let data = match self.first_response(conn, initial, "")? {
                    Ok(d) => d,
                    Err(r) => return Ok(r),
                };
                let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
                let [authzid, authcid, passwd] = fields.as_slice() else {
                    return Ok(reply(
                        501,
                        "5.5.2",
                        "PLAIN needs authzid NUL authcid NUL password",
                    ));
                };
                if !authzid.is_empty() && authzid != authcid {
                    return Ok(reply(535, "5.7.8", "Authentication credentials invalid"));
                }
                (authcid.to_vec(), passwd.to_vec())
            }
            b"LOGIN" => {
                let user = match self.first_response(conn, initial, "Username:")? {
                    Ok(u) => u,
                    Err(r) => return Ok(r),
                };
                let password = match self.challenge(conn, "Password:")? {
                    Ok(p) => p,
                    Err(r) => return Ok(r),
                };
                (user, password)
            }
            _ => {
                return Ok(reply(
                    504,
                    "5.5.4",
                    format!(
                        "Unrecognised authentication mechanism {}",
                        parse::echo(&mech)
                    ),
                ));
            }
        };
        let ok = user == account.user.as_bytes()
            && constant_time_eq(&password, account.password.as_bytes());
        if ok {
            self.auth = Some(account.user);
            Ok(reply(235, "2.7.0", "Authentication successful"))
        } else {
            Ok(reply(535, "5.7.8", "Authentication credentials invalid"))
        }
    }

    /// The first response of an exchange: the initial response given with
    /// AUTH, else the answer to a `334 prompt`.
    fn first_response<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        initial: Option<&[u8]>,
        prompt: &str,
    ) -> io::Result<Result<Vec<u8>, Reply>> {
        match initial {
            Some(i) => Ok(parse::auth_response(i).map_err(Reply::from)),
            None => self.challenge(conn, prompt),
        }
    }

    /// Sends `334 base64(prompt)` and reads the client's response line.
    fn challenge<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        prompt: &str,
    ) -> io::Result<Result<Vec<u8>, Reply>> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(prompt);
        conn.send(&format!("334 {encoded}\r\n"));
        let wait = super::lines::Wait {
            stop: None,
            ..self.command_wait()
        };
        Ok(match conn.read_line(MAX_AUTH_LINE, wait)? {
            Line::Eof | Line::Stopping => {
                Err(reply(501, "5.7.0", "No answer to the AUTH challenge"))
            }
            Line::TimedOut => {
                self.closing = true;
                let secs = self.limits().idle_timeout.as_secs();
                Err(reply(
                    421,
                    "4.4.2",
                    format!(
                        "Timeout: no answer to the AUTH challenge in {secs} s, closing the connection"
                    ),
                ))
            }
            Line::TooLong { .. } => Err(reply(
                500,
                "5.5.6",
                "Authentication exchange line is too long",
            )),
            Line::Text(raw) => parse::strict_line(&raw)
                .and_then(parse::auth_response)
                .map_err(Reply::from),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
