//! What was redacted: the secret kinds and the counts per kind.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

/// What a redacted secret was; its `as_str()` name appears in `[REDACTED:<kind>]`. Provider tokens
/// are named by their issuer (`NpmToken`: `npm_` + 36 base62; `PypiToken`: `pypi-` + a macaroon
/// for pypi.org or test.pypi.org); the container kinds (`BearerToken`, `BasicAuth`,
/// `UrlPassword`, `SecretAssignment`) say where an otherwise unrecognised value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    AwsAccessKey,
    AwsSecretKey,
    GcpPrivateKey,
    GoogleOauthToken,
    AzureKey,
    OpenAiKey,
    AnthropicKey,
    GoogleApiKey,
    HuggingFaceToken,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    NpmToken,
    PypiToken,
    Jwt,
    BearerToken,
    BasicAuth,
    PrivateKey,
    UrlPassword,
    SecretAssignment,
}

impl SecretKind {
    pub const ALL: [SecretKind; 21] = [
        SecretKind::AwsAccessKey,
        SecretKind::AwsSecretKey,
        SecretKind::GcpPrivateKey,
        SecretKind::GoogleOauthToken,
        SecretKind::AzureKey,
        SecretKind::OpenAiKey,
        SecretKind::AnthropicKey,
        SecretKind::GoogleApiKey,
        SecretKind::HuggingFaceToken,
        SecretKind::GithubToken,
        SecretKind::GitlabToken,
        SecretKind::SlackToken,
        SecretKind::StripeKey,
        SecretKind::NpmToken,
        SecretKind::PypiToken,
        SecretKind::Jwt,
        SecretKind::BearerToken,
        SecretKind::BasicAuth,
        SecretKind::PrivateKey,
        SecretKind::UrlPassword,
        SecretKind::SecretAssignment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKey => "aws_access_key",
            SecretKind::AwsSecretKey => "aws_secret_key",
            SecretKind::GcpPrivateKey => "gcp_private_key",
            SecretKind::GoogleOauthToken => "google_oauth_token",
            SecretKind::AzureKey => "azure_key",
            SecretKind::OpenAiKey => "openai_key",
            SecretKind::AnthropicKey => "anthropic_key",
            SecretKind::GoogleApiKey => "google_api_key",
            SecretKind::HuggingFaceToken => "hugging_face_token",
            SecretKind::GithubToken => "github_token",
            SecretKind::GitlabToken => "gitlab_token",
            SecretKind::SlackToken => "slack_token",
            SecretKind::StripeKey => "stripe_key",
            SecretKind::NpmToken => "npm_token",
            SecretKind::PypiToken => "pypi_token",
            SecretKind::Jwt => "jwt",
            SecretKind::BearerToken => "bearer_token",
            SecretKind::BasicAuth => "basic_auth",
            SecretKind::PrivateKey => "private_key",
            SecretKind::UrlPassword => "url_password",
            SecretKind::SecretAssignment => "secret_assignment",
        }
    }
}

impl Serialize for SecretKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How many secrets of each kind were redacted; serialises as `{kind: n}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Redactions(BTreeMap<SecretKind, u64>);

impl Redactions {
    pub fn add(&mut self, kind: SecretKind, count: u64) {
        if count > 0 {
            *self.0.entry(kind).or_default() += count;
        }
    }

    pub fn merge(&mut self, other: &Redactions) {
        for (&kind, &count) in &other.0 {
            self.add(kind, count);
        }
    }

    pub fn get(&self, kind: SecretKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Kinds with a non-zero count, in `SecretKind` order.
    pub fn iter(&self) -> impl Iterator<Item = (SecretKind, u64)> + '_ {
        self.0.iter().map(|(&kind, &count)| (kind, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = SecretKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), SecretKind::ALL.len());
    }

    #[test]
    fn counts_merge_and_serialise_by_kind_name() {
        let mut counts = Redactions::default();
        counts.add(SecretKind::OpenAiKey, 2);
        let mut more = Redactions::default();
        more.add(SecretKind::OpenAiKey, 1);
        more.add(SecretKind::Jwt, 1);
        more.add(SecretKind::Jwt, 0);
        counts.merge(&more);
        assert_eq!(counts.total(), 4);
        assert_eq!(
            serde_json::to_value(&counts).unwrap(),
            serde_json::json!({"openai_key": 3, "jwt": 1})
        );
    }
}
