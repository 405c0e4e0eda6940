//! Redaction throughput on realistic session content: the message texts of every parser fixture
//! (`fixtures/<tool>/<case>/source`), one `redact` call per block as the planner makes them,
//! repeated to about 50 MB, timed apart for the texts without any secret (most session text) and
//! those with some. Not a test (timing is noise on shared machines): run by hand,
//! `cargo run --release --example redact_throughput [MB]`, and compare MB/s before and after a
//! change to `src/redact/`.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use memtree::redact::{Redactions, Redactor};
use memtree::source::SOURCES;

fn main() {
    let target_mb: usize = std::env::args()
        .nth(1)
        .and_then(|mb| mb.parse().ok())
        .unwrap_or(50);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut texts = Vec::new();
    for source in SOURCES {
        let Ok(cases) = std::fs::read_dir(fixtures.join(source.name())) else {
            continue;
        };
        for case in cases.flatten() {
            let discovery = source.discover(&[case.path().join("source")], None);
            for candidate in &discovery.candidates {
                for session in source.parse(candidate).sessions {
                    for message in session.messages {
                        texts.extend(message.blocks.into_iter().map(|block| block.text));
                    }
                }
            }
        }
    }
    let redactor = Redactor::new();
    // Texts without any secret are timed apart: they are most session text, and their figure
    // does not depend on how many secrets the fixtures happen to hold.
    let (clean, with_secrets): (Vec<String>, Vec<String>) = texts.into_iter().partition(|text| {
        matches!(
            redactor.redact(text, &mut Redactions::default()),
            Cow::Borrowed(_)
        )
    });
    for (label, texts) in [("clean texts", &clean), ("texts with secrets", &with_secrets)] {
        measure(&redactor, label, texts, target_mb);
    }
}

/// Redacts `texts` over and over (about `target_mb` MB in all) and prints the throughput.
fn measure(redactor: &Redactor, label: &str, texts: &[String], target_mb: usize) {
    let bytes: usize = texts.iter().map(String::len).sum();
    assert!(bytes > 0, "no fixture text found for {label}");
    let mut counts = Redactions::default();
    let rounds = (target_mb * 1_000_000).div_ceil(bytes);
    let started = Instant::now();
    for _ in 0..rounds {
        for text in texts {
            std::hint::black_box(redactor.redact(text, &mut counts));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let mb = (bytes * rounds) as f64 / 1e6;
    println!(
        "{label}: {} texts, {:.1} MB in {seconds:.2} s: {:.0} MB/s ({} secrets per round)",
        texts.len(),
        mb,
        mb / seconds,
        counts.total() / rounds as u64
    );
}
