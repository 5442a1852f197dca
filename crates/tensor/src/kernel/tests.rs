use crate::tensor::Tensor;

fn t(v: &[f32], shape: &[usize]) -> Tensor<f32> {
    Tensor::from_vec(v.to_vec(), shape).unwrap()
}

#[test]
fn owned_kernels_write_in_place_only_into_unshared_buffers() {
    let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let ptr = a.as_slice().unwrap().as_ptr();
    let b = a.zip_into(&t(&[10.0, 20.0], &[2]), "add", |p, q| p + q);
    assert_eq!((b.to_vec(), b.as_slice().unwrap().as_ptr()), (vec![11.0, 22.0, 13.0, 24.0], ptr));
    let c = b.map_into(|x| -x);
    assert_eq!(c.as_slice().unwrap().as_ptr(), ptr);

    let shared = c.clone();
    let d = c.zip_into(&shared, "mul", |p, q| p * q);
    assert_eq!(d.to_vec(), vec![121.0, 484.0, 169.0, 576.0]);
    assert_eq!(shared.to_vec(), vec![-11.0, -22.0, -13.0, -24.0], "a shared buffer is never written");
    assert_ne!(d.as_slice().unwrap().as_ptr(), ptr);
}

#[test]
fn owned_zip_grows_to_the_broadcast_shape_when_it_must() {
    let col = t(&[1.0, 2.0], &[2, 1]);
    let out = col.zip_into(&t(&[10.0, 20.0, 30.0], &[3]), "add", |p, q| p + q);
    assert_eq!(out.shape(), &[2, 3]);
    assert_eq!(out.to_vec(), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    let transposed = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).t();
    let out = transposed.zip_into(&t(&[1.0; 4], &[2, 2]), "add", |p, q| p + q);
    assert_eq!(out.to_vec(), vec![2.0, 4.0, 3.0, 5.0]);
}

mod rows {
    use proptest::prelude::*;

    use crate::kernel::rows::{Pattern, Plan, plan};
    use crate::kernel::{
        CHEAP_PAR_THRESHOLD, COSTLY_PAR_THRESHOLD, Cost, general_zip, map_cost, zip_cost, zip_owned_cost,
    };
    use crate::shape::broadcast_shapes;
    use crate::tensor::Tensor;

    /// A tensor of `shape` with distinct, non-round values (seeded by `salt`).
    fn noise(shape: &[usize], salt: u64) -> Tensor<f32> {
        let n: usize = shape.iter().product();
        let v = (0..n as u64)
            .map(|i| {
                let h =
                    (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(salt.wrapping_mul(0xBF58_476D));
                ((h >> 40) as f32) / (1u64 << 24) as f32 * 4.0 - 2.0
            })
            .collect();
        Tensor::from_vec(v, shape).unwrap()
    }

    /// A function whose result depends on the order of its operands and rounds differently
    /// from any simpler one, so a swapped or misplaced element shows.
    fn f(p: f32, q: f32) -> f32 {
        p * 1.37 - q / 3.1
    }

    /// The general path's result, the reference every fast path must match bit for bit.
    fn reference(a: &Tensor<f32>, b: &Tensor<f32>) -> Tensor<f32> {
        let shape = broadcast_shapes("ref", a.shape(), b.shape()).unwrap();
        general_zip(Cost::Cheap, &shape, a, b, f)
    }

    fn bits(t: &Tensor<f32>) -> Vec<u32> {
        t.to_vec().iter().map(|x| x.to_bits()).collect()
    }

    fn in_pool<R: Send>(threads: usize, run: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(run)
    }

    #[test]
    fn a_bias_a_column_and_a_scalar_each_get_a_plan_of_rows() {
        let p = |o: &[usize], a: &[usize], b: &[usize]| plan(o, a, b);
        let full = [16, 64, 128];
        assert_eq!(p(&full, &full, &[128]), Some(Plan { m: 128, a: Pattern::Full, b: Pattern::Row }));
        assert_eq!(p(&full, &[1, 1, 128], &full), Some(Plan { m: 128, a: Pattern::Row, b: Pattern::Full }));
        assert_eq!(
            p(&[2048, 128], &[2048, 128], &[2048, 1]),
            Some(Plan { m: 128, a: Pattern::Full, b: Pattern::Col })
        );
        assert_eq!(
            p(&full, &full, &full),
            Some(Plan { m: 16 * 64 * 128, a: Pattern::Full, b: Pattern::Full })
        );
        assert_eq!(
            p(&full, &[], &full),
            Some(Plan { m: 16 * 64 * 128, a: Pattern::Scalar, b: Pattern::Full })
        );
        // An outer sum: the column's rows are the row's length.
        assert_eq!(p(&[5, 7], &[5, 1], &[7]), Some(Plan { m: 7, a: Pattern::Col, b: Pattern::Row }));
        // Axes of size 1 in the middle of a bias are still a row.
        assert_eq!(p(&[4, 3, 2], &[4, 3, 2], &[3, 2]).map(|p| p.b), Some(Pattern::Row));
    }

    #[test]
    fn broadcasts_inside_one_side_and_empty_outputs_take_the_general_path() {
        assert_eq!(plan(&[2, 3, 4], &[2, 1, 4], &[1, 3, 1]), None);
        assert_eq!(plan(&[2, 3, 4], &[2, 3, 4], &[2, 1, 4]), None);
        assert_eq!(plan(&[2, 0], &[2, 0], &[0]), None);
        assert_eq!(plan(&[3], &[3], &[2, 3]), None, "an operand larger than the output has no plan");
    }

    #[test]
    fn large_broadcasts_are_bit_identical_to_the_general_path_in_pools_of_one_two_and_three() {
        let n = CHEAP_PAR_THRESHOLD.max(COSTLY_PAR_THRESHOLD);
        let rows = n.div_ceil(128) + 3;
        let cases: [(Vec<usize>, Vec<usize>); 5] = [
            (vec![rows, 128], vec![128]),
            (vec![rows, 128], vec![rows, 1]),
            (vec![rows, 128], vec![rows, 128]),
            (vec![128], vec![rows, 128]),
            (vec![rows, 1], vec![1, 129]),
        ];
        for (sa, sb) in cases {
            let (a, b) = (noise(&sa, 1), noise(&sb, 2));
            let want = bits(&reference(&a, &b));
            for threads in [1, 2, 3] {
                for cost in [Cost::Cheap, Cost::Costly, Cost::Unknown] {
                    let got = in_pool(threads, || zip_cost(cost, "f", &a, &b, f));
                    assert_eq!(bits(&got), want, "{sa:?} with {sb:?} on {threads} threads ({cost:?})");
                    let owned =
                        in_pool(threads, || zip_owned_cost(cost, "f", a.to_contiguous().map(|x| x), &b, f));
                    assert_eq!(bits(&owned), want, "in place: {sa:?} with {sb:?} on {threads} threads");
                }
            }
        }
    }

    #[test]
    fn large_maps_are_bit_identical_in_pools_of_one_two_and_three() {
        let x = noise(&[3 * CHEAP_PAR_THRESHOLD + 5], 3);
        let want = bits(&x.map(|v| v.exp() * 0.3 - v));
        for threads in [1, 2, 3] {
            for cost in [Cost::Cheap, Cost::Costly, Cost::Unknown] {
                let got = in_pool(threads, || map_cost(cost, &x, |v| v.exp() * 0.3 - v));
                assert_eq!(bits(&got), want, "{threads} threads, {cost:?}");
            }
        }
    }

    /// A shape of rank 0 to 4 with axes of 0 to 4, and two operand shapes that broadcast to it:
    /// each axis kept or 1, and some leading axes dropped.
    fn broadcast_case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec(0usize..5, 0..5).prop_flat_map(|out| {
            let n = out.len();
            let mask = || prop::collection::vec(any::<bool>(), n);
            (Just(out), mask(), mask(), 0..=n, 0..=n).prop_map(|(out, ma, mb, da, db)| {
                let pick = |m: &[bool], drop: usize| -> Vec<usize> {
                    out.iter().zip(m).skip(drop).map(|(&d, &one)| if one { 1 } else { d }).collect()
                };
                (pick(&ma, da), pick(&mb, db))
            })
        })
    }

    proptest! {
        #[test]
        fn every_broadcast_matches_the_general_path_bit_for_bit(
            (sa, sb) in broadcast_case(),
            transpose_a in any::<bool>(),
            transpose_b in any::<bool>(),
        ) {
            // A transposed operand (built transposed, so its values match) is not row-major.
            let make = |s: &[usize], salt, t: bool| {
                if t && s.len() >= 2 {
                    let mut r = s.to_vec();
                    r.reverse();
                    let axes: Vec<usize> = (0..s.len()).rev().collect();
                    noise(&r, salt).permute(&axes)
                } else {
                    noise(s, salt)
                }
            };
            let (a, b) = (make(&sa, 5, transpose_a), make(&sb, 6, transpose_b));
            let want = reference(&a, &b);
            let got = zip_cost(Cost::Cheap, "f", &a, &b, f);
            prop_assert_eq!(got.shape(), want.shape());
            prop_assert_eq!(bits(&got), bits(&want));
            if want.shape() == a.shape() {
                let owned = zip_owned_cost(Cost::Cheap, "f", a.to_contiguous().map(|x| x), &b, f);
                prop_assert_eq!(bits(&owned), bits(&want));
            }
        }
    }
}
