//! Where a Cursor conversation ran. No store records it beside the messages: the IDE names the
//! workspace (`workspaceIdentifier`, `workspace.json`), cursor-agent names its chats folder after
//! the MD5 of the workspace path, and a transcript sits in a folder named after the path with
//! every character but ASCII letters and digits turned into `-` (formats-more-tools.md 1.1).
//! That name is lossy (`/home/dev/my-app` and `/home/dev/my/app` share it), so a folder resolves
//! to a path only when exactly one path it could stand for is seen: among the workspaces other
//! stores name and the absolute paths inside the transcript's tool calls. Otherwise the cwd is
//! left unresolved rather than guessed.

use std::collections::BTreeSet;

use md5::{Digest, Md5};

/// How a transcript folder names `path`: the path without its leading `/`, every character
/// that is not an ASCII letter or digit replaced by `-`. A Windows path (`c:\Users\x`) is also
/// seen named without the drive's colon (`c-Users-x`), so both names are returned.
pub(super) fn folder_names(path: &str) -> Vec<String> {
    let encode = |path: &str| -> String {
        path.trim_start_matches('/')
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect()
    };
    let mut names = vec![encode(path)];
    let bytes = path.trim_start_matches('/').as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        let without_colon = format!("{}{}", char::from(bytes[0]), &path.trim_start_matches('/')[2..]);
        names.push(encode(&without_colon));
    }
    names
}

/// The one path among `known` and the directories of `paths` that `folder` names, if exactly
/// one does.
pub(super) fn resolve_folder<'p>(
    folder: &str,
    known: impl IntoIterator<Item = &'p str>,
    paths: &BTreeSet<String>,
) -> Option<String> {
    let mut matches = BTreeSet::new();
    let mut consider = |candidate: &str| {
        let candidate = candidate.trim_end_matches(['/', '\\']);
        if !candidate.is_empty() && folder_names(candidate).iter().any(|name| name == folder) {
            matches.insert(candidate.to_owned());
        }
    };
    for path in known {
        consider(path);
    }
    for path in paths {
        // Every directory the path lies in: the folder names one of them, if any.
        for (at, ch) in path.char_indices().skip(1) {
            if ch == '/' || ch == '\\' {
                consider(&path[..at]);
            }
        }
        consider(path);
    }
    let mut matches = matches.into_iter();
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Adds the absolute paths in `text` (a tool call's argument) to `paths`: `/x/y` and `C:\x\y`
/// runs up to whitespace, a quote or a bracket.
pub(super) fn collect_paths(text: &str, paths: &mut BTreeSet<String>) {
    const LIMIT: usize = 4096;
    if paths.len() >= LIMIT {
        return;
    }
    let bytes = text.as_bytes();
    let ends = |byte: u8| byte.is_ascii_whitespace() || b"\"'`()[]{}<>,;|&=*?$".contains(&byte);
    let mut at = 0;
    while at < bytes.len() {
        let starts_here = at == 0 || ends(bytes[at - 1]) || bytes[at - 1] == b':';
        let unix = bytes[at] == b'/'
            && bytes
                .get(at + 1)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.');
        let windows = bytes[at].is_ascii_alphabetic()
            && bytes.get(at + 1) == Some(&b':')
            && matches!(bytes.get(at + 2), Some(b'\\' | b'/'));
        if starts_here && (unix || windows) {
            let end = (at..bytes.len()).find(|&i| ends(bytes[i])).unwrap_or(bytes.len());
            // A path ending in `.` or `:` is usually a sentence around it.
            let path = text[at..end].trim_end_matches(['.', ':']);
            if path.len() > 1 && path.len() < 1024 {
                paths.insert(path.to_owned());
                if paths.len() >= LIMIT {
                    return;
                }
            }
            at = end;
        } else {
            at += 1;
        }
    }
}

/// The directory a `workspace.json` or `workspaceIdentifier` URI names: `file:///x` and
/// `vscode-remote://host/x` are `/x` (percent-decoded); a Windows drive path loses the slash
/// before its drive.
pub(super) fn uri_path(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let path = match scheme {
        "file" => rest,
        _ => &rest[rest.find('/')?..],
    };
    let decoded = percent_decode(path)?;
    let bytes = decoded.as_bytes();
    let decoded =
        if bytes.len() >= 3 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
            decoded[1..].to_owned()
        } else {
            decoded
        };
    (!decoded.is_empty() && decoded != "/").then_some(decoded)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = std::str::from_utf8(bytes.get(at + 1..at + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The workspace path cursor-agent states in its `<user_info>` context (`The absolute path of the
/// user's workspace is /x.`).
pub(super) fn user_info_workspace(text: &str) -> Option<String> {
    const LEAD: &str = "The absolute path of the user's workspace is ";
    let start = text.find(LEAD)? + LEAD.len();
    let rest = &text[start..];
    let line = &rest[..rest.find(['\n', '<']).unwrap_or(rest.len())];
    // The sentence ends at `. `; a path rarely holds one.
    let path = line[..line.find(". ").unwrap_or(line.len())]
        .trim()
        .trim_end_matches('.');
    (!path.is_empty()).then(|| path.to_owned())
}

/// Whether `folder` (a `~/.cursor/chats/<md5>` name) is the MD5 of `path`.
pub(super) fn chats_folder_matches(folder: &str, path: &str) -> bool {
    folder.eq_ignore_ascii_case(&md5_hex(path.as_bytes()))
}

/// The lower-case hex MD5 digest of `data`: an identifier here, not a security measure.
fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(paths: &[&str]) -> BTreeSet<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn folders_are_named_as_cursor_names_them() {
        assert_eq!(
            folder_names("/Users/serro/Documents/dev/n/superfunctions-dev"),
            ["Users-serro-Documents-dev-n-superfunctions-dev"]
        );
        assert_eq!(
            folder_names(r"c:\Users\gkstm\app"),
            ["c--Users-gkstm-app", "c-Users-gkstm-app"]
        );
    }

    #[test]
    fn a_folder_resolves_only_to_a_single_path() {
        let paths = set(&[
            "/home/ubuntu/minseo/backend/node/package.json",
            "/home/ubuntu/minseo",
        ]);
        assert_eq!(
            resolve_folder("home-ubuntu-minseo", [], &paths).as_deref(),
            Some("/home/ubuntu/minseo")
        );
        assert_eq!(
            resolve_folder("home-ubuntu", [], &paths).as_deref(),
            Some("/home/ubuntu")
        );
        let ambiguous = set(&["/home/dev/my-app/src/a.rs", "/home/dev/my/app/b.rs"]);
        assert_eq!(resolve_folder("home-dev-my-app", [], &ambiguous), None);
        assert_eq!(resolve_folder("1765550873491", [], &paths), None);
        assert_eq!(
            resolve_folder("home-dev-shop", ["/home/dev/shop"], &BTreeSet::new()).as_deref(),
            Some("/home/dev/shop")
        );
    }

    #[test]
    fn absolute_paths_are_found_in_commands_and_arguments() {
        let mut paths = BTreeSet::new();
        collect_paths(
            "cd /Users/a/app && ls 'C:\\Users\\hp' \"/x/y.rs\". see https://e.com/p and ./rel, path=/z",
            &mut paths,
        );
        assert_eq!(paths, set(&["/Users/a/app", "/x/y.rs", "/z", "C:\\Users\\hp"]));
    }

    #[test]
    fn uris_and_user_info_name_directories() {
        assert_eq!(
            uri_path("file:///home/dev/my%20app").as_deref(),
            Some("/home/dev/my app")
        );
        assert_eq!(uri_path("file:///c%3A/Users/x").as_deref(), Some("c:/Users/x"));
        assert_eq!(
            uri_path("vscode-remote://ssh-remote%2Bbox/home/ubuntu/p").as_deref(),
            Some("/home/ubuntu/p")
        );
        assert_eq!(uri_path("file:///"), None);
        assert_eq!(uri_path("not a uri"), None);
        assert_eq!(
            user_info_workspace("<user_info>The absolute path of the user's workspace is /Users/t/i. The user's shell is fish.</user_info>")
                .as_deref(),
            Some("/Users/t/i")
        );
    }

    #[test]
    fn md5_is_the_rfc_1321_test_suite_and_names_a_real_chats_folder() {
        for (input, digest) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
            // `samples/cursor/chats/9f6abfa6.../`: the folder of this workspace.
            (
                "/Users/tomb/Documents/interviewing",
                "9f6abfa6c66a6abd40306ebc2591d767",
            ),
        ] {
            assert_eq!(md5_hex(input.as_bytes()), digest, "{input}");
        }
    }
}
