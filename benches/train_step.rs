//! One full-batch training step (forward + backward + Adam) of the prototype's model on the CPU
//! in f32: 500 sequences of 8 tokens, heads 8, D = 64, 128 and 256, with each `Factoring`.
//! Compare with `python3 scripts/torch_train_step.py` (PyTorch, 2 threads) on the same machine.

use criterion::{criterion_group, criterion_main, Criterion};

use mha_cv::backend::cpu::Cpu;
use mha_cv::data::{make_data, DataSpec};
use mha_cv::defaults;
use mha_cv::model::{init_params, DeviceData, Factoring, Model, ModelConfig};

fn train_step(c: &mut Criterion) {
    let data = make_data(DataSpec::default(), defaults::SEED);
    let mut group = c.benchmark_group("train_step");
    group.sample_size(20);
    for dim in [64, 128, 256] {
        for path in [Factoring::PerToken, Factoring::Qkv, Factoring::QkvAndOut] {
            let be = Cpu::<f32>::new();
            let cfg = ModelConfig::prototype(dim, 8);
            let dd = DeviceData::new(&be, &data).unwrap();
            let params = init_params::<f32>(&cfg, defaults::SEED);
            let mut model = Model::new(be, cfg, &params).unwrap();
            model.set_factoring(path).unwrap();
            group.bench_function(format!("D{dim}_h8_{path:?}"), |b| {
                b.iter(|| model.train_step(&dd, defaults::LR).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
