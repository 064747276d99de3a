//! The command tree the man page and the completions are made from.

use super::*;

#[test]
fn the_tree_is_a_valid_clap_command() {
    // clap's own checks: no duplicate names, valid `requires`, ...
    command().debug_assert();
}

#[test]
fn the_tree_has_every_sub_command_main_dispatches() {
    let tree = command();
    let names: Vec<&str> = tree.get_subcommands().map(|c| c.get_name()).collect();
    assert_eq!(names, SUBCOMMANDS);
}

#[test]
fn inbox_has_every_option_of_the_table_row() {
    let spec = commands::find("inbox").expect("the inbox row");
    let inbox = inbox_command();
    for option in spec.options {
        let long = option.split_whitespace().next().unwrap_or_default();
        let arg = inbox
            .get_arguments()
            .find(|a| a.get_long() == long.strip_prefix("--"));
        let arg = arg.unwrap_or_else(|| panic!("{long} is missing"));
        assert_eq!(
            arg.get_action().takes_values(),
            option.contains(' '),
            "{option}"
        );
    }
}

#[test]
fn table_values_named_dir_or_file_complete_as_paths() {
    assert_eq!(
        table_option("--maildir DIR").get_value_hint(),
        ValueHint::DirPath
    );
    assert_eq!(
        table_option("--check-attachment FILE").get_value_hint(),
        ValueHint::FilePath
    );
    assert_eq!(table_option("--wait N").get_value_hint(), ValueHint::Other);
    assert!(!table_option("--json").get_action().takes_values());
}

#[test]
fn the_shell_options_still_parse() {
    let cli = Cli::try_parse_from(["smtpsh", "--color", "never", "-c", "ehlo", "mx.test", "26"])
        .expect("parses");
    let opts = cli.into_options().expect("options");
    assert_eq!(opts.host.as_deref(), Some("mx.test"));
    assert_eq!(opts.port.as_deref(), Some("26"));
    assert_eq!(opts.commands, ["ehlo"]);
}

#[test]
fn file_and_command_together_are_refused() {
    let cli = Cli::try_parse_from(["smtpsh", "-f", "x.smtp", "-c", "ehlo"]).expect("parses");
    assert!(cli.into_options().is_err());
}

#[test]
fn the_page_and_the_scripts_are_made_without_panicking() {
    let page = String::from_utf8(man::page()).expect("UTF-8");
    assert!(page.contains(".SH SHELL COMMANDS") || page.contains(".SH \"SHELL COMMANDS\""));
    for name in completions::SHELLS {
        let shell = completions::shell(name).expect("a shell");
        assert!(!completions::script(shell).is_empty(), "{name}");
    }
    assert!(completions::shell("powershell").is_none());
}
