//! Git facts of a working directory (repository root, HEAD commit, `origin` remote), looked up
//! once per directory through libgit2 and cached.
//!
//! Lookups run against today's filesystem: a directory that was deleted or never was a
//! repository simply has no facts. Credentials embedded in remote URLs are removed before they
//! can reach the database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use git2::Repository;

/// What git knows about one directory. Every field is optional: absent facts are omitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitFacts {
    /// The repository's working-tree root, without a trailing slash.
    pub root: Option<String>,
    pub commit: Option<String>,
    /// The `origin` remote URL, with any user name or password removed.
    pub remote: Option<String>,
}

/// A per-run cache of [`GitFacts`] by directory; safe to share between parser threads.
#[derive(Debug, Default)]
pub struct GitCache {
    facts: Mutex<HashMap<String, GitFacts>>,
}

impl GitCache {
    pub fn facts(&self, cwd: &str) -> GitFacts {
        if let Some(facts) = self.lock().get(cwd) {
            return facts.clone();
        }
        // Looked up outside the lock: two threads may both look up the same new directory, which
        // is cheaper than serialising every lookup.
        let facts = lookup(Path::new(cwd));
        self.lock().insert(cwd.to_owned(), facts.clone());
        facts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, GitFacts>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep using it.
        self.facts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn lookup(cwd: &Path) -> GitFacts {
    let Ok(repo) = Repository::discover(cwd) else {
        return GitFacts::default();
    };
    let root = repo
        .workdir()
        .and_then(Path::to_str)
        .map(|root| root.trim_end_matches('/').to_owned())
        .filter(|root| !root.is_empty());
    let commit = repo
        .head()
        .ok()
        .and_then(|head| head.peel_to_commit().ok())
        .map(|commit| commit.id().to_string());
    let remote = repo
        .find_remote("origin")
        .ok()
        .and_then(|remote| remote.url().map(strip_credentials));
    GitFacts { root, commit, remote }
}

/// Removes `user:password@` from URL-style remotes (`https://token@host/x.git`). scp-style
/// remotes (`git@host:x.git`) carry a user name only and are kept as they are.
pub fn strip_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |at| authority_start + at);
    match url[authority_start..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &url[authority_start + at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_from_remote_urls() {
        let cases = [
            (
                "https://user:ghp_secret@github.com/o/r.git",
                "https://github.com/o/r.git",
            ),
            ("https://token@gitlab.com/o/r", "https://gitlab.com/o/r"),
            ("https://github.com/o/r.git", "https://github.com/o/r.git"),
            ("git@github.com:o/r.git", "git@github.com:o/r.git"),
            ("ssh://git@host:22/o/r", "ssh://host:22/o/r"),
            ("/srv/git/r.git", "/srv/git/r.git"),
        ];
        for (url, expected) in cases {
            assert_eq!(strip_credentials(url), expected);
        }
    }

    #[test]
    fn a_repository_yields_root_commit_and_remote() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        repo.remote("origin", "https://me:pw@example.com/x.git").unwrap();
        let sub = dir.path().join("src");
        std::fs::create_dir(&sub).unwrap();
        let cache = GitCache::default();
        let unborn = cache.facts(sub.to_str().unwrap());
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(
            unborn
                .root
                .as_deref()
                .map(std::fs::canonicalize)
                .map(Result::unwrap),
            Some(root)
        );
        assert_eq!(unborn.commit, None, "no commit yet");
        assert_eq!(unborn.remote.as_deref(), Some("https://example.com/x.git"));

        let signature = git2::Signature::now("t", "t@example.com").unwrap();
        let tree = repo
            .find_tree(repo.index().unwrap().write_tree().unwrap())
            .unwrap();
        let commit = repo
            .commit(Some("HEAD"), &signature, &signature, "init", &tree, &[])
            .unwrap();
        assert_eq!(
            GitCache::default().facts(dir.path().to_str().unwrap()).commit,
            Some(commit.to_string())
        );
    }

    #[test]
    fn missing_directories_have_no_facts() {
        assert_eq!(
            GitCache::default().facts("/nonexistent/memtree/dir"),
            GitFacts::default()
        );
    }
}
