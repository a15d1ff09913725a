//! The shape of the house (docs/context-template.md), checked on `cargo metadata`: contexts
//! side by side above the exchange, which depends on none of them; citizen data crosses
//! contexts only through `exchange::Client`. A new dependency between workspace crates that
//! breaks this fails here, naming the edge.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// For each workspace crate, the workspace crates it may depend on (normal and build
/// dependencies; test-only dependencies may reach further, for fixtures).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let base = ["kernel", "store", "web", "audit"];
    let with = |extra: &[&'static str]| -> BTreeSet<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    BTreeMap::from([
        ("kernel", BTreeSet::new()),
        ("store", BTreeSet::from(["kernel"])),
        ("web", BTreeSet::from(["kernel"])),
        ("audit", BTreeSet::from(["kernel", "store"])),
        ("exchange", with(&[])),
        // Contexts: the base and the exchange, never each other.
        ("registry", with(&["exchange"])),
        ("identity", with(&["exchange"])),
        ("server", with(&["exchange", "registry", "identity"])),
        (
            "testkit",
            with(&["exchange", "registry", "identity", "server"]),
        ),
    ])
}

fn workspace_dependencies() -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let members: BTreeSet<String> = packages.iter().filter_map(|p| text(p, "name")).collect();
    let mut graph = BTreeMap::new();
    for package in &packages {
        let name = text(package, "name").unwrap_or_default();
        let dependencies = package
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| text(d, "kind").as_deref() != Some("dev"))
            .filter_map(|d| text(d, "name"))
            .filter(|d| members.contains(d) && *d != name)
            .collect();
        graph.insert(name, dependencies);
    }
    Ok(graph)
}

#[test]
fn contexts_sit_side_by_side_above_the_exchange() -> Result<(), String> {
    let allowed = allowed();
    let graph = workspace_dependencies()?;
    let mut forbidden = Vec::new();
    for (crate_name, dependencies) in &graph {
        let Some(may) = allowed.get(crate_name.as_str()) else {
            forbidden.push(format!(
                "{crate_name} is not in the architecture table: add it to crates/server/tests/architecture.rs (see docs/context-template.md)"
            ));
            continue;
        };
        for dependency in dependencies {
            if !may.contains(dependency.as_str()) {
                forbidden.push(format!("{crate_name} → {dependency}"));
            }
        }
    }
    assert!(
        forbidden.is_empty(),
        "dependencies the architecture forbids: {forbidden:?}"
    );
    Ok(())
}
