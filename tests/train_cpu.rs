//! Training the prototype's model on the CPU from the tool's own initialisation.

use std::time::Instant;

use mha_cv::backend::cpu::Cpu;
use mha_cv::data::{make_data, DataSpec};
use mha_cv::defaults;
use mha_cv::model::{init_params, DeviceData, Model, ModelConfig};

/// Trains `epochs` full-batch Adam steps at lr 1e-3 (seed 42 data and init), returning the
/// losses and the final training accuracy.
fn train(dim: usize, heads: usize, epochs: usize) -> (Vec<f64>, f64) {
    let be = Cpu::<f32>::new();
    let cfg = ModelConfig::prototype(dim, heads);
    let data = make_data(DataSpec::default(), defaults::SEED);
    let params = init_params::<f32>(&cfg, defaults::SEED);
    let dd = DeviceData::new(&be, &data).unwrap();
    let mut model = Model::new(be, cfg, &params).unwrap();
    let t0 = Instant::now();
    let losses: Vec<f64> = (0..epochs)
        .map(|_| model.train_step(&dd, defaults::LR).unwrap())
        .collect();
    let acc = model.accuracy(&dd).unwrap();
    eprintln!(
        "D={dim} heads={heads}: {epochs} epochs in {:.2?}, loss {:.4} → {:.4}, acc {:.2}%",
        t0.elapsed(),
        losses[0],
        losses[epochs - 1],
        100.0 * acc
    );
    (losses, acc)
}

/// The prototype reaches 98.8–99.6% at D = 64 after 50 epochs (seed-semantics.md); the issue
/// asks for ≥ 98% from our own initialisation.
#[test]
fn fifty_epochs_reach_the_prototypes_accuracy() {
    for (dim, heads) in [(64, 8), (64, 1)] {
        let (losses, acc) = train(dim, heads, defaults::EPOCHS);
        // The loss starts near ln 10 ≈ 2.30 (10 balanced classes, small logits).
        assert!(
            (losses[0] - 10f64.ln()).abs() < 0.3,
            "first loss {}",
            losses[0]
        );
        assert!(
            losses[49] < 0.5 * losses[0],
            "loss {} → {}",
            losses[0],
            losses[49]
        );
        assert!(acc >= 0.98, "D={dim} heads={heads}: accuracy {acc}");
    }
}
