//! Script variables: `${NAME}` in command lines, from `--var`, `set var`,
//! `expect` captures and the environment.

/// Parses `NAME=VALUE` (`--var`).
pub fn parse_assignment(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err(format!("'{s}' is not NAME=VALUE"));
    };
    Ok((name.to_string(), value.to_string()))
}
