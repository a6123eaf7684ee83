//! `schema.graphql` is the output of `offer-catalog schema`.

#[test]
fn checked_in_schema_equals_the_schema_command_output() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_offer-catalog"))
        .arg("schema")
        .env("RUST_LOG", "off")
        .output()
        .expect("run offer-catalog schema");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8 SDL");
    let checked_in = include_str!("../../schema.graphql");
    assert_eq!(
        printed, checked_in,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
    assert_eq!(printed, offer_catalog::graphql::sdl());
}
