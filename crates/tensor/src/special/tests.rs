//! Tests of the special functions against values evaluated to 30 digits (mpmath), rounded to f64.

use super::{digamma, erfinv, polygamma};
use crate::tensor::Tensor;

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn digamma_and_polygamma_match_reference_values() {
    // x, ψ, ψ⁽¹⁾, ψ⁽²⁾, ψ⁽³⁾
    let table = [
        (0.1, -10.423754940411076, 101.43329915079275, -2001.8614573783436, 60004.51287679026),
        (0.5, -1.9635100260214235, 4.934802200544679, -16.82879664423432, 97.40909103400244),
        (1.0, -0.5772156649015329, 1.6449340668482264, -2.4041138063191885, 6.493939402266829),
        (2.5, 0.7031566406452432, 0.49035775610023485, -0.2362040516417274, 0.22390584881725206),
        (7.3, 1.9178203356379862, 0.1467957681314271, -0.02151081444162025, 0.00629315871319849),
        (-0.3, 2.113309779635399, 13.945160267805722, 67.63908119988317, 766.6198904191685),
        (-2.7, -1.1153471291406896, 14.769375845132314, -68.9329390232638, 768.9626351155225),
        (30.0, 3.384438132685525, 0.033895060357739946, -0.0011487652037286, 7.78600366473613e-05),
    ];
    for (x, d0, d1, d2, d3) in table {
        for (n, want) in [(0, d0), (1, d1), (2, d2), (3, d3)] {
            let got = polygamma(n, x);
            assert!(rel(got, want) < 1e-12, "polygamma({n}, {x}) = {got}, not {want}");
        }
        assert_eq!(digamma(x), polygamma(0, x));
    }
}

#[test]
fn polygamma_at_the_poles_follows_pytorch() {
    assert_eq!(digamma(0.0), f64::NEG_INFINITY);
    assert_eq!(digamma(-0.0), f64::INFINITY);
    assert!(digamma(-2.0).is_nan());
    assert_eq!(polygamma(1, 0.0), f64::INFINITY);
    assert_eq!(polygamma(2, -1.0), f64::NEG_INFINITY);
    assert!(polygamma(3, f64::NAN).is_nan());
}

#[test]
fn lgamma_matches_reference_values() {
    let x = Tensor::<f64>::from_vec(vec![0.1, 0.5, 2.5, 7.3, 30.0, -0.3, -2.7], &[7]).unwrap();
    let want = [
        2.252712651734206,
        0.5723649429247001,
        0.2846828704729192,
        7.147892523022248,
        71.25703896716801,
        1.4648400508576025,
        -0.07140708531564569,
    ];
    for (got, want) in x.lgamma().to_vec().into_iter().zip(want) {
        assert!(rel(got, want) < 1e-13, "lgamma {got} vs {want}");
    }
    assert_eq!(Tensor::<f32>::from_vec(vec![-1.0], &[1]).unwrap().lgamma().to_vec(), vec![f32::INFINITY]);
}

#[test]
fn erfinv_matches_reference_values_and_inverts_erf() {
    for (y, want) in [
        (0.1, 0.08885599049425769),
        (0.5, 0.4769362762044699),
        (0.9, 1.1630871536766743),
        (0.999, 2.3267537655135246),
        (1.0 - 1e-12, 5.042031898572696),
        (-0.7, -0.7328690779592167),
    ] {
        let got = erfinv(y);
        assert!(rel(got, want) < 1e-13, "erfinv({y}) = {got}, not {want}");
    }
    assert_eq!((erfinv(1.0), erfinv(-1.0), erfinv(0.0)), (f64::INFINITY, f64::NEG_INFINITY, 0.0));
    assert!(erfinv(1.5).is_nan() && erfinv(f64::NAN).is_nan());
    let x = Tensor::<f32>::from_vec(vec![-0.9, 0.3, 0.99], &[3]).unwrap();
    for (a, b) in x.erfinv().erf().to_vec().into_iter().zip(x.to_vec()) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn erf_and_erfc_add_to_one() {
    let x = Tensor::<f64>::from_vec(vec![-3.0, -0.2, 0.0, 0.7, 5.0], &[5]).unwrap();
    for (a, b) in x.erf().to_vec().into_iter().zip(x.erfc().to_vec()) {
        assert!((a + b - 1.0).abs() < 1e-15);
    }
}
