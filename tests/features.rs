//! One build serves `make dev` and `make test`: Cargo resolves a crate's features per command
//! (the test build adds the dev-dependencies' wishes, `make dev` builds `trouw-local` alone), and
//! a crate built with other features is built again, with everything above it. When the
//! dev-dependencies switch on a feature the normal build lacks (criterion's `either/use_std`
//! sits under every AWS SDK crate), the switch between the two commands recompiles the SDK.
//! `infra/local/Cargo.toml` pins those features; this test fails when they drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Every package in `cargo tree`'s answer for `selection`, with the features it is built with.
fn resolved(selection: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(trouw_local::workspace_root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
        ])
        .args(selection)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree {selection:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let Some((package, features)) = line.trim_end_matches(" (*)").split_once('|') else {
            continue;
        };
        // "name v1.2.3 (/path)" for workspace members: the name and version identify it.
        let package = package.split(" (").next().unwrap_or(package).to_owned();
        let features = features.trim_end_matches(" (*)");
        packages.entry(package).or_default().extend(
            features
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        );
    }
    packages
}

fn differences(
    a: &BTreeMap<String, BTreeSet<String>>,
    b: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    a.iter()
        .filter_map(|(package, features)| {
            let other = b.get(package)?;
            (features != other).then(|| format!("{package}: {features:?} vs {other:?}"))
        })
        .collect()
}

#[test]
fn make_dev_and_make_test_build_every_shared_crate_with_the_same_features() {
    // `make test`: the whole workspace with its tests (dev-dependencies included).
    let test = resolved(&["--workspace"]);
    // `make dev` (`cargo build --bin trouw-dev`) and `deploy-check`: trouw-local alone.
    let dev = resolved(&["--package", "trouw-local", "--edges", "no-dev"]);
    // `make test-contract` and `measure-local`: every binary of the workspace.
    let bins = resolved(&["--workspace", "--edges", "no-dev"]);
    assert!(dev.keys().any(|p| p.starts_with("aws-runtime ")));
    let drift: Vec<String> = differences(&test, &dev)
        .into_iter()
        .chain(differences(&test, &bins))
        .collect();
    assert!(
        drift.is_empty(),
        "features differ between the test build and `make dev`; pin them in infra/local/Cargo.toml:\n{}",
        drift.join("\n")
    );
}
