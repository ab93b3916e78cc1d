//! One serde value in JSON, YAML, TOML and RON through the
//! `atomic_<format>_dump` / `atomic_<format>_load` helpers, and what a parse
//! error tells you: its kind, and the line and column of the problem.
//!
//! Run with `cargo run --example formats`. The YAML, TOML and RON helpers
//! need the `yaml`, `toml` and `ron` cargo features of safeatomic (JSON is
//! on by default).

use safeatomic::{
    Algorithm, ReadOptions, WriteOptions, atomic_json_dump, atomic_json_dump_with,
    atomic_json_load, atomic_json_load_with, atomic_ron_dump, atomic_ron_load, atomic_toml_dump,
    atomic_toml_load, atomic_yaml_dump, atomic_yaml_load, read_atomic_to_string, write_atomic,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Server {
    name: String,
    port: u16,
    tls: bool,
    tags: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let server = Server {
        name: "api".into(),
        port: 8443,
        tls: true,
        tags: vec!["prod".into(), "eu".into()],
    };

    // The same value through the four helpers. Each dump is one atomic,
    // durable write (as `write_atomic`); each load reads one consistent
    // version and parses it.
    let json = dir.path().join("server.json");
    atomic_json_dump(&json, &server)?;
    let back: Server = atomic_json_load(&json)?;
    show(&json, back == server)?;

    let yaml = dir.path().join("server.yaml");
    atomic_yaml_dump(&yaml, &server)?;
    let back: Server = atomic_yaml_load(&yaml)?;
    show(&yaml, back == server)?;

    let toml = dir.path().join("server.toml");
    atomic_toml_dump(&toml, &server)?;
    let back: Server = atomic_toml_load(&toml)?;
    show(&toml, back == server)?;

    let ron = dir.path().join("server.ron");
    atomic_ron_dump(&ron, &server)?;
    let back: Server = atomic_ron_load(&ron)?;
    show(&ron, back == server)?;

    // The `_with` variants take WriteOptions / ReadOptions: here a checksum
    // sidecar written with the file and verified on load.
    let checked = dir.path().join("checked.json");
    let write = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    atomic_json_dump_with(&checked, &server, &write)?;
    let back: Server = atomic_json_load_with(&checked, &ReadOptions::new().verify(true))?;
    println!(
        "== {} with a checksum sidecar: loaded and verified, equal: {}",
        name(&checked),
        back == server
    );

    // A parse error is ErrorKind::Format, names the file, and carries the
    // 1-based line and column of the problem; a file that parses but does
    // not fit the type (the JSON one: a string for a number) is
    // ErrorKind::Schema, located the same way. Each broken file below has
    // its mistake on line 3.
    println!("\n== parse errors");
    let path = dir.path().join("broken.json");
    write_atomic(
        &path,
        "{\n  \"name\": \"api\",\n  \"port\": \"not a number\",\n  \"tls\": true,\n  \"tags\": []\n}\n",
    )?;
    parse_error(atomic_json_load::<Server>(&path))?;

    let path = dir.path().join("broken.yaml");
    write_atomic(&path, "name: api\nport: 8443\ntls: [unclosed\ntags: []\n")?;
    parse_error(atomic_yaml_load::<Server>(&path))?;

    let path = dir.path().join("broken.toml");
    write_atomic(&path, "name = \"api\"\nport = 8443\ntls = yes\ntags = []\n")?;
    parse_error(atomic_toml_load::<Server>(&path))?;

    let path = dir.path().join("broken.ron");
    write_atomic(
        &path,
        "(\n    name: \"api\",\n    port: 8443 8443,\n    tls: true,\n    tags: [],\n)\n",
    )?;
    parse_error(atomic_ron_load::<Server>(&path))?;
    Ok(())
}

/// Prints a dumped file and whether it loaded back equal.
fn show(path: &Path, equal: bool) -> Result<(), safeatomic::Error> {
    println!("== {}: dumped, loaded back equal: {equal}", name(path));
    print!("{}", read_atomic_to_string(path)?);
    println!();
    Ok(())
}

/// Prints what a failed load says: the file, the kind, the step, and where.
fn parse_error(result: safeatomic::Result<Server>) -> Result<(), String> {
    let err = match result {
        Err(e) => e,
        Ok(v) => return Err(format!("a broken file parsed as {v:?}")),
    };
    let at = err
        .location()
        .map_or("no location".to_owned(), |(line, column)| {
            format!("line {line}, column {column}")
        });
    println!(
        "{}: {:?} ({}) at {at}",
        name(err.path()),
        err.kind(),
        err.step()
    );
    Ok(())
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
