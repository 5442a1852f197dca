//! Under `mpirun`: the self-test binary on 1, 2 and 4 ranks (oversubscribed), over shared memory and
//! loopback TCP, compared with one process. Each spawned job is bounded by a timeout.

use std::process::{Command, Output};

use crate::scenario;
use crate::threads::reference;

const SHARED_MEMORY: &[&str] = &["--mca", "pml", "ob1", "--mca", "btl", "self,vader"];
const TCP: &[&str] =
    &["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"];

/// `mpirun -np N` of the self-test with `args`, killed after two minutes.
fn mpirun(np: usize, transport: &[&str], args: &[&str]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "120", "mpirun", "--allow-run-as-root", "--oversubscribe", "-np", &np.to_string()])
        .args(transport)
        .args(["-x", "RAYON_NUM_THREADS=1", env!("CARGO_BIN_EXE_wengert-dist-selftest")])
        .args(args);
    cmd.output().expect("mpirun runs (apt-get install openmpi-bin)")
}

fn stdout(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{:?}\n{text}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    text
}

#[test]
fn ranks_are_bit_identical_to_one_process_at_1_2_and_4_ranks() {
    for (np, transport) in [(1, SHARED_MEMORY), (2, SHARED_MEMORY), (2, TCP), (4, SHARED_MEMORY)] {
        let expected = reference(np, 8, 2);
        let text = stdout(&mpirun(np, transport, &["fit", "8", "2"]));
        let outcomes: Vec<_> = text.lines().filter_map(scenario::parse).collect();
        assert_eq!(outcomes.len(), np, "{text}");
        for (rank, got) in outcomes {
            assert_eq!(got.steps, expected.steps, "np {np} rank {rank}");
        }
    }
}

#[test]
fn every_row_is_trained_once_per_epoch_across_the_ranks() {
    let text = stdout(&mpirun(3, SHARED_MEMORY, &["shard", "4", "2"]));
    for epoch in 1..=2 {
        let tag = format!(" epoch {epoch} rows ");
        let mut rows: Vec<usize> = text
            .lines()
            .filter_map(|l| l.split_once(&tag).map(|(_, r)| r))
            .flat_map(|r| r.split(',').map(|v| v.parse::<usize>().unwrap()))
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..scenario::ROWS + 5).collect::<Vec<_>>(), "epoch {epoch}:\n{text}");
    }
}

#[test]
fn broadcast_makes_differently_initialised_ranks_equal() {
    let text = stdout(&mpirun(2, SHARED_MEMORY, &["broadcast"]));
    let find = |what: &str| -> Vec<String> {
        text.lines().filter(|l| l.contains(what)).map(|l| l.rsplit(' ').next().unwrap().to_string()).collect()
    };
    let (before, after) = (find(" before "), find(" after "));
    assert_eq!((before.len(), after.len()), (2, 2), "{text}");
    assert_ne!(before[0], before[1]);
    assert_eq!(after[0], after[1]);
    assert!(before.contains(&after[0]));
}

#[test]
fn models_that_differ_end_the_job_naming_the_first_difference() {
    let out = mpirun(2, SHARED_MEMORY, &["mismatch"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "error: dist: the models differ between ranks: first difference: entry 0: \
                      rank 0 has `0.weight` [16, 6] f32, rank 1 has `0.weight` [17, 6] f32"
        ),
        "{err}"
    );
}

#[test]
fn a_panicking_rank_ends_the_job_with_its_rank_and_message_instead_of_a_hang() {
    let out = mpirun(2, TCP, &["panic", "3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_ne!(out.status.code(), Some(124), "timed out: {err}");
    assert!(err.contains("rank 1 of 2 panicked") && err.contains("injected failure at step 3"), "{err}");
}

#[test]
fn a_distributed_checkpoint_resumes_at_another_world_size_and_says_so() {
    let path = std::env::temp_dir().join(format!("wengert-dist-resume-{}.ckpt", std::process::id()));
    let p = path.to_str().unwrap();
    stdout(&mpirun(2, SHARED_MEMORY, &["save", "8", "1", p]));
    let text = stdout(&mpirun(4, SHARED_MEMORY, &["resume", "8", "2", p]));
    assert!(text.contains("note: checkpoint written by 2 workers, resumed on 4"), "{text}");
    let saved = wengert_nn::checkpoint::Checkpoint::<f32>::load(&path).unwrap();
    let expected = scenario::train(None, 4, 8, (1, 2), Some(&saved)).unwrap().0;
    let outcomes: Vec<_> = text.lines().filter_map(scenario::parse).collect();
    assert_eq!(outcomes.len(), 4, "{text}");
    assert!(outcomes.iter().all(|(_, o)| o.steps == expected.steps), "{text}");
    std::fs::remove_file(&path).unwrap();
}
