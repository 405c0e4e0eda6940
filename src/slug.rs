//! Project slugs: ltree-safe labels derived from a project's directory, unique per database.
//!
//! A project is keyed by its git root (or cwd outside git). Its slug is the normalised basename;
//! when another project already holds that slug, the reference importer's collision rule adds
//! `_` and 4 hex digits of SHA-256 (longer when those collide too). The book of assignments is
//! persisted by the store, so a slug never changes once given, whatever later runs see.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use sha2::{Digest, Sha256};

/// Longest slug base; PostgreSQL 15 ltree labels must stay under 256 characters.
pub const MAX_SLUG_LEN: usize = 64;

/// The reference normalisation: lowercase, runs of anything but `[a-z0-9]` become one `_`,
/// trimmed of `_`, `unknown` when empty, `p_` before an all-digit name, capped in length.
pub fn normalize(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for ch in name.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            slug.push(ch);
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    slug.truncate(MAX_SLUG_LEN);
    let slug = slug.trim_end_matches('_');
    if slug.is_empty() {
        "unknown".to_owned()
    } else if slug.bytes().all(|byte| byte.is_ascii_digit()) {
        format!("p_{slug}")
    } else {
        slug.to_owned()
    }
}

/// The identity of a project: its git root, else its cwd; plus the origin remote if known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectKey {
    pub key: String,
    pub remote: Option<String>,
}

impl ProjectKey {
    /// The slug this project gets when nobody else holds it.
    pub fn base_slug(&self) -> String {
        let basename = self
            .key
            .trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("");
        normalize(basename)
    }

    /// The slug this project gets when its base slug is taken: `<base>_<hex>` with `hex_len`
    /// digits of SHA-256 of the remote (or the key without one).
    pub fn collision_slug(&self, hex_len: usize) -> String {
        let digest = Sha256::digest(self.remote.as_deref().unwrap_or(&self.key));
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{}_{}", self.base_slug(), &hex[..hex_len.min(hex.len())])
    }
}

/// Every slug given so far: project key to slug, one project per slug.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlugBook {
    by_key: BTreeMap<String, String>,
    taken: HashSet<String>,
}

impl SlugBook {
    /// A book holding assignments made earlier (read back from the database).
    pub fn from_assignments(assignments: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut book = SlugBook::default();
        for (key, slug) in assignments {
            book.taken.insert(slug.clone());
            book.by_key.insert(key, slug);
        }
        book
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.by_key.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Gives each project not yet in the book a slug, and returns the new assignments. New
    /// projects are taken in key order, so the result does not depend on discovery order.
    pub fn assign(&mut self, projects: &[ProjectKey]) -> Vec<(ProjectKey, String)> {
        let new: BTreeSet<&ProjectKey> = projects
            .iter()
            .filter(|project| !self.by_key.contains_key(&project.key))
            .collect();
        let mut assigned = Vec::new();
        for project in new {
            if self.by_key.contains_key(&project.key) {
                continue; // the same key listed twice with different remotes
            }
            let slug = self.free_slug(project);
            self.taken.insert(slug.clone());
            self.by_key.insert(project.key.clone(), slug.clone());
            assigned.push((project.clone(), slug));
        }
        assigned
    }

    fn free_slug(&self, project: &ProjectKey) -> String {
        let base = project.base_slug();
        if !self.taken.contains(&base) {
            return base;
        }
        (4..=64)
            .step_by(2)
            .map(|hex_len| project.collision_slug(hex_len))
            .find(|slug| !self.taken.contains(slug))
            .unwrap_or_else(|| {
                // 64 hex digits collided: only possible for two keys with the same remote.
                (2..)
                    .map(|n| format!("{}_{n}", project.collision_slug(64)))
                    .find(|slug| !self.taken.contains(slug))
                    .expect("an unbounded counter finds a free slug")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str) -> ProjectKey {
        ProjectKey {
            key: path.to_owned(),
            remote: None,
        }
    }

    #[test]
    fn normalisation_follows_the_reference() {
        let cases = [
            ("Memory-Engine", "memory_engine"),
            ("My Project!", "my_project"),
            ("---foo---bar---", "foo_bar"),
            ("12345", "p_12345"),
            ("", "unknown"),
            ("!!!", "unknown"),
            ("2024-app", "2024_app"),
            ("café", "caf"),
            ("a.b", "a_b"),
            ("'; drop table memory; --", "drop_table_memory"),
        ];
        for (name, slug) in cases {
            assert_eq!(normalize(name), slug, "{name:?}");
        }
    }

    #[test]
    fn slugs_are_bounded_and_valid_ltree_labels() {
        let slug = normalize(&"ab-".repeat(100));
        assert!(slug.len() <= MAX_SLUG_LEN);
        assert!(!slug.ends_with('_'));
        assert!(slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }

    #[test]
    fn collision_suffix_matches_the_reference_vector() {
        assert_eq!(
            key("/tmp/nonexistent-b-5678efgh/memory-engine").collision_slug(4),
            "memory_engine_6636"
        );
    }

    #[test]
    fn collisions_get_suffixes_independent_of_order() {
        let a = key("/x/memory-engine");
        let b = key("/y/memory-engine");
        let mut forward = SlugBook::default();
        forward.assign(&[a.clone(), b.clone()]);
        let mut backward = SlugBook::default();
        backward.assign(&[b.clone(), a.clone()]);
        assert_eq!(forward, backward);
        assert_eq!(forward.get("/x/memory-engine"), Some("memory_engine"));
        assert!(forward
            .get("/y/memory-engine")
            .unwrap()
            .starts_with("memory_engine_"));
    }

    #[test]
    fn a_slug_once_given_never_changes() {
        let mut book = SlugBook::default();
        book.assign(&[key("/y/app")]);
        // A later run sees a project that sorts first; the earlier one keeps the plain slug.
        let new = book.assign(&[key("/a/app"), key("/y/app")]);
        assert_eq!(new.len(), 1);
        assert_eq!(book.get("/y/app"), Some("app"));
        assert_ne!(book.get("/a/app"), Some("app"));
        let reloaded = SlugBook::from_assignments([("/y/app".to_owned(), "app".to_owned())]);
        assert_eq!(reloaded.get("/y/app"), Some("app"));
    }

    #[test]
    fn colliding_suffixes_are_lengthened() {
        let a = key("/a/app");
        let mut book = SlugBook::from_assignments([
            ("/other".to_owned(), "app".to_owned()),
            ("/other2".to_owned(), a.collision_slug(4)),
        ]);
        book.assign(std::slice::from_ref(&a));
        assert_eq!(book.get("/a/app").unwrap(), a.collision_slug(6));
    }
}
