//! smtpsh: an interactive SMTP shell.
//!
//! Data flows one way: [`shell`] reads commands and keeps the session;
//! it composes messages with [`mime`] and talks to servers with [`smtp`].
//! [`sandbox`] is a peer of the client (a server), never importing
//! [`shell`]; [`serve`] runs it headless. [`address`], [`clock`], [`local`] and [`text`] serve every
//! layer. [`cli`] is the command line, from which `--help`, the man page
//! and the shell completions are made.
//! See docs/architecture.md.

#![forbid(unsafe_code)]

pub mod address;
pub mod cli;
pub mod clock;
pub mod local;
pub mod mime;
pub mod runner;
pub mod sandbox;
pub mod serve;
pub mod shell;
pub mod smtp;
pub mod text;
