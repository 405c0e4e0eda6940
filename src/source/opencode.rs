//! STUB: opencode format (to be written).

use std::path::PathBuf;

use crate::filter::ProjectScope;
use crate::model::ParseOutcome;

use super::{Candidate, Discovery, EnvLookup};

pub fn default_roots(_env: EnvLookup<'_>) -> Vec<PathBuf> {
    Vec::new()
}

pub fn discover(_roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
    Discovery::default()
}

pub fn parse(_candidate: &Candidate) -> ParseOutcome {
    ParseOutcome::default()
}
