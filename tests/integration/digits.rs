//! The digits example's CNN reaches 97% held-out accuracy on the real digits data.

#[path = "../../examples/digits.rs"]
mod example;

#[test]
fn the_digits_cnn_reaches_97_percent_held_out() {
    let path = example::default_path();
    let acc = example::run(&path, 0, 10).unwrap_or_else(|e| panic!("the digits example failed: {e}"));
    assert!(acc >= 0.97, "held-out accuracy {acc}");
}
