//! The model's contract: initialisation, validation messages, trace names and shapes,
//! determinism.

use std::time::Duration;

use super::*;
use crate::backend::cpu::Cpu;
use crate::data::{make_data, DataSpec, Dataset};

fn small_cfg() -> ModelConfig {
    ModelConfig {
        vocab: 32,
        dim: 12,
        heads: 2,
        seq_len: 8,
        classes: 10,
    }
}

fn small_data(cfg: &ModelConfig) -> Dataset {
    let spec = DataSpec {
        classes: cfg.classes,
        per_class: 2,
        seq_len: cfg.seq_len,
        vocab: cfg.vocab,
        noise_p: 0.25,
    };
    make_data(spec, 5)
}

fn err_of(params: &HostParams<f64>, cfg: &ModelConfig) -> String {
    params.validate(cfg).unwrap_err().to_string()
}

#[test]
fn init_has_pytorchs_shapes_and_distributions() {
    let cfg = ModelConfig::prototype(64, 8);
    let p = init_params::<f64>(&cfg, 42);
    p.validate(&cfg).unwrap();
    let names: Vec<&str> = p.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, PARAM_NAMES);
    let data = |name: &str| &p.get(name).unwrap().data;
    // emb: 16384 draws of N(0, 1): mean within 5σ = 5/128 of 0, std within 3% of 1.
    let emb = data("emb.weight");
    let mean = emb.iter().sum::<f64>() / emb.len() as f64;
    let std = (emb.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / emb.len() as f64).sqrt();
    assert!(
        mean.abs() < 0.04 && (std - 1.0).abs() < 0.03,
        "emb {mean} {std}"
    );
    let pos_max = data("pos").iter().fold(0.0f64, |a, x| a.max(x.abs()));
    assert!(pos_max < 0.02 * 6.0 && pos_max > 0.02, "pos max {pos_max}");
    // Uniform bounds: in_proj a = √(6/(64+192)) = 0.153; out_proj and head 1/8.
    let bound = |name: &str| data(name).iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let a = (6.0f64 / 256.0).sqrt();
    assert!(bound("mha.in_proj_weight") < a && bound("mha.in_proj_weight") > 0.99 * a);
    assert!(bound("mha.out_proj.weight") < 0.125 && bound("mha.out_proj.weight") > 0.12);
    assert!(bound("head.weight") < 0.125 && bound("head.bias") < 0.125);
    assert!(data("head.bias").iter().any(|&x| x != 0.0));
    for zero in ["mha.in_proj_bias", "mha.out_proj.bias", "norm.bias"] {
        assert!(data(zero).iter().all(|&x| x == 0.0), "{zero}");
    }
    assert!(data("norm.weight").iter().all(|&x| x == 1.0));
    // Same seed, same values; another seed, other values; f32 is the f64 draw rounded.
    assert_eq!(p, init_params::<f64>(&cfg, 42));
    assert_ne!(
        p.tensors[0].data,
        init_params::<f64>(&cfg, 43).tensors[0].data
    );
    let p32 = init_params::<f32>(&cfg, 42);
    assert_eq!(p32.tensors[2].data[7], p.tensors[2].data[7] as f32);
}

#[test]
fn validation_names_the_tensor_and_the_expected_shape() {
    let cfg = ModelConfig::prototype(64, 8);
    let good = init_params::<f64>(&cfg, 1);

    let mut p = good.clone();
    p.tensors[2].shape = vec![96, 64];
    p.tensors[2].data.truncate(96 * 64);
    let e = err_of(&p, &cfg);
    assert!(
        e.contains("mha.in_proj_weight: shape (96, 64), expected (192, 64) = (3·dim, dim)"),
        "{e}"
    );

    let mut p = good.clone();
    p.tensors.remove(1);
    let e = err_of(&p, &cfg);
    assert!(
        e.contains("missing tensor `pos`") && e.contains("(1, 8, 64)"),
        "{e}"
    );

    let mut p = good.clone();
    p.tensors[0].name = "embedding.weight".into();
    let e = err_of(&p, &cfg);
    assert!(e.contains("unexpected tensor `embedding.weight`"), "{e}");

    let mut p = good.clone();
    p.tensors.push(good.tensors[9].clone());
    assert!(err_of(&p, &cfg).contains("`head.bias` appears more than once"));

    let mut p = good.clone();
    p.tensors[4].data[3 * 64 + 5] = f64::NAN;
    let e = err_of(&p, &cfg);
    assert!(
        e.contains("mha.out_proj.weight: element [3, 5] is NaN"),
        "{e}"
    );

    let mut p = good.clone();
    p.tensors[6].data[2] = f64::INFINITY;
    assert!(err_of(&p, &cfg).contains("norm.weight: element [2] is infinite"));

    let mut p = good.clone();
    p.tensors[7].data.pop();
    assert!(err_of(&p, &cfg).contains("norm.bias: holds 63 values"));

    // Config errors come first.
    let e = err_of(&good, &ModelConfig::prototype(64, 0));
    assert!(e.contains("heads is 0"), "{e}");
    let e = err_of(&good, &ModelConfig::prototype(64, 5));
    assert!(e.contains("not divisible by heads 5"), "{e}");
    // Model::new refuses what validate refuses.
    let mut p = good.clone();
    p.tensors[0].data[0] = f64::NAN;
    assert!(Model::new(Cpu::<f64>::new(), cfg, &p).is_err());
}

#[test]
fn bad_data_is_an_error_not_a_panic() {
    let cfg = small_cfg();
    let be = Cpu::<f64>::new();
    let model = Model::new(be, cfg, &init_params::<f64>(&cfg, 2)).unwrap();
    let mut data = small_data(&cfg);
    data.x[13] = 32; // vocab is 32
    let dd = DeviceData::new(model.backend(), &data).unwrap();
    let e = model.accuracy(&dd).unwrap_err().to_string();
    assert!(
        e.contains("x[1, 5] = 32 is not a token id in [0, 32)"),
        "{e}"
    );

    let mut data = small_data(&cfg);
    data.y[0] = 10;
    let dd = DeviceData::new(model.backend(), &data).unwrap();
    assert!(model
        .loss(&dd)
        .unwrap_err()
        .to_string()
        .contains("y[0] = 10"));

    let other = Dataset {
        x: vec![0; 12],
        y: vec![0; 2],
        n: 2,
        seq_len: 6,
    };
    let dd = DeviceData::new(model.backend(), &other).unwrap();
    let e = model.loss(&dd).unwrap_err().to_string();
    assert!(e.contains("length 6") && e.contains("seq_len 8"), "{e}");

    let empty = Dataset {
        x: vec![],
        y: vec![],
        n: 0,
        seq_len: 8,
    };
    assert!(DeviceData::new(model.backend(), &empty).is_err());
    let ragged = Dataset {
        x: vec![0; 15],
        y: vec![0; 2],
        n: 2,
        seq_len: 8,
    };
    assert!(DeviceData::new(model.backend(), &ragged).is_err());
}

#[test]
fn trace_has_the_fixture_names_and_shapes() {
    let cfg = small_cfg();
    let data = small_data(&cfg);
    let be = Cpu::<f64>::new();
    let dd = DeviceData::new(&be, &data).unwrap();
    let mut model = Model::new(be, cfg, &init_params::<f64>(&cfg, 3)).unwrap();
    let trace = model.trace(&dd).unwrap();
    let (b, s, d, h, c) = (data.n, 8, 12, 2, 10);
    let mut expected: Vec<(String, Vec<usize>)> = vec![
        ("act.h".into(), vec![b, s, d]),
        ("act.qkv".into(), vec![b, s, 3 * d]),
        ("act.attn_probs".into(), vec![b, h, s, s]),
        ("act.attn".into(), vec![b, s, d]),
        ("act.attn_out".into(), vec![b, s, d]),
        ("act.resid".into(), vec![b, s, d]),
        ("act.ln".into(), vec![b, s, d]),
        ("act.pooled".into(), vec![b, d]),
        ("act.logits".into(), vec![b, c]),
        ("act.loss".into(), vec![1]),
    ];
    for (name, shape) in PARAM_NAMES.iter().zip(param_shapes(&cfg)) {
        expected.push((format!("grad.{name}"), shape));
    }
    let got: Vec<(String, Vec<usize>)> = trace
        .iter()
        .map(|t| (t.name.clone(), t.shape.clone()))
        .collect();
    assert_eq!(got, expected);
    for t in &trace {
        assert_eq!(
            t.data.len(),
            t.shape.iter().product::<usize>(),
            "{}",
            t.name
        );
    }
    // The probabilities are row softmaxes; the loss is the one `loss` computes; no Adam step.
    let probs = &trace[2].data;
    for row in probs.chunks_exact(s) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    }
    assert_eq!(trace[9].data[0], model.loss(&dd).unwrap());
    assert_eq!(model.steps(), 0);
}

#[test]
fn activations_are_the_prototype_metrics() {
    let cfg = small_cfg();
    let data = small_data(&cfg);
    let be = Cpu::<f64>::new();
    let dd = DeviceData::new(&be, &data).unwrap();
    let mut model = Model::new(be, cfg, &init_params::<f64>(&cfg, 4)).unwrap();
    let acts = model.activations(&dd).unwrap();
    let names: Vec<&str> = acts.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, metrics::activation_names(2));
    let trace = model.trace(&dd).unwrap();
    let get = |name: &str| trace.iter().find(|t| t.name == name).unwrap();
    let rows = data.n * 8;
    // act_V_h1 = columns 2·12 + 6 .. 2·12 + 12 of qkv; act_emb = h; act_post_full = ln.
    let v_h1 = acts.iter().find(|t| t.name == "act_V_h1").unwrap();
    assert_eq!(v_h1.shape, [rows, 6]);
    let qkv = &get("act.qkv").data;
    assert_eq!(v_h1.data[6..12], qkv[36 + 30..36 + 36]);
    assert_eq!(acts[8].data, get("act.h").data);
    assert_eq!(acts[9].data, get("act.ln").data);
    let attn = model.attn_head_activations(&dd).unwrap();
    assert_eq!(attn[0].shape, [rows, 6]);
    assert_eq!(attn[0].data[..6], get("act.attn").data[..6]);
}

#[test]
fn training_is_deterministic_and_params_round_trip() {
    let cfg = small_cfg();
    let data = small_data(&cfg);
    let init = init_params::<f32>(&cfg, 6);
    let run = || {
        let be = Cpu::<f32>::new();
        let dd = DeviceData::new(&be, &data).unwrap();
        let mut model = Model::new(be, cfg, &init).unwrap();
        assert_eq!(model.params().unwrap(), init);
        let before = model.loss(&dd).unwrap();
        let losses: Vec<f64> = (0..3)
            .map(|_| model.train_step(&dd, 1e-2).unwrap())
            .collect();
        assert_eq!(losses[0], before, "train_step returns the pre-update loss");
        assert_eq!(model.steps(), 3);
        (losses, model.params().unwrap())
    };
    let (a, pa) = run();
    let (b, pb) = run();
    assert_eq!(a, b);
    assert_eq!(pa, pb);
    assert_ne!(pa, init);
    assert!(a[2] < a[0], "loss {a:?}");
}

#[test]
fn timed_steps_give_the_untimed_numbers_and_time_every_op() {
    let cfg = small_cfg();
    let data = small_data(&cfg);
    let init = init_params::<f32>(&cfg, 6);
    let be = Cpu::<f32>::new();
    let dd = DeviceData::new(&be, &data).unwrap();
    for path in [Factoring::Qkv, Factoring::QkvAndOut] {
        let mut plain = Model::new(Cpu::<f32>::new(), cfg, &init).unwrap();
        let mut timed = Model::new(Cpu::<f32>::new(), cfg, &init).unwrap();
        plain.set_factoring(path).unwrap();
        timed.set_factoring(path).unwrap();
        for _ in 0..2 {
            let loss = plain.train_step(&dd, 1e-2).unwrap();
            let (timed_loss, times) = timed.train_step_timed(&dd, 1e-2).unwrap();
            assert_eq!(loss, timed_loss, "{path:?}");
            let ops: Vec<&str> = times.ops.iter().map(|t| t.op).collect();
            let expected: &[&str] = match path {
                Factoring::QkvAndOut => &[
                    "embed",
                    "linear",
                    "head_proj",
                    "attention_out",
                    "resid_norm_pool",
                    "cross_entropy",
                ],
                _ => &[
                    "embed",
                    "linear",
                    "attention",
                    "resid_norm_pool",
                    "cross_entropy",
                ],
            };
            assert_eq!(ops, expected, "{path:?}: the ops in order of first record");
            // Every op ran both ways (cross_entropy's backward included): none stays zero.
            for t in &times.ops {
                assert!(
                    t.forward > Duration::ZERO && t.backward > Duration::ZERO,
                    "{t:?}"
                );
            }
            assert!(times.update > Duration::ZERO);
        }
        assert_eq!(plain.params().unwrap(), timed.params().unwrap(), "{path:?}");
    }
}

/// The loss alone reads less than a trace: on `QkvAndOut` no qkv is gathered (attention_out
/// reads q and k from the projected rows itself and v through head_proj's tables), and on
/// every path the residual, LayerNorm and mean pool are one op that keeps neither resid nor
/// ln. The loss and every parameter gradient must be the very bits of the trace's pass (whole
/// qkv; add, layernorm, mean_pool), on every path.
#[test]
fn the_loss_path_reads_less_and_gives_the_traces_gradients() {
    let cfg = small_cfg();
    let data = small_data(&cfg);
    let init = init_params::<f32>(&cfg, 7);
    let be = Cpu::<f32>::new();
    let dd = DeviceData::new(&be, &data).unwrap();
    let (b, s, d) = (dd.len(), cfg.seq_len, cfg.dim);
    for path in [Factoring::PerToken, Factoring::Qkv, Factoring::QkvAndOut] {
        let mut model = Model::new(Cpu::<f32>::new(), cfg, &init).unwrap();
        model.set_factoring(path).unwrap();
        model.train_step(&dd, 1e-2).unwrap(); // away from the init's symmetries
        let mut tape = Tape::new(model.backend());
        let (_, fwd) = model.record_forward(&mut tape, &dd, Reads::LOSS).unwrap();
        match fwd.qkv {
            Some(qkv) => assert_eq!(tape.shape(qkv), [b, s, 3 * d], "{path:?}"),
            None => assert_eq!(path, Factoring::QkvAndOut, "no qkv"),
        }
        assert!(fwd.resid.is_none() && fwd.ln.is_none(), "{path:?}: fused");
        let (loss, grads, _) = model
            .loss_and_grads(&dd, Tape::new(model.backend()))
            .unwrap();
        let trace = model.trace(&dd).unwrap();
        let traced = |name: &str| &trace.iter().find(|t| t.name == name).unwrap().data;
        assert_eq!(loss, f64::from(traced("act.loss")[0]), "{path:?}");
        for (name, g) in PARAM_NAMES.iter().zip(&grads) {
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let grad = model.backend().download(g).unwrap();
            assert_eq!(
                bits(&grad),
                bits(traced(&format!("grad.{name}"))),
                "{path:?}: grad.{name}"
            );
        }
    }
}

/// A measurement runs the forward pass on the first sequences only (those holding the CV pool's
/// rows). Every op's row depends on its own sequence alone, so those rows must be the very bits
/// of a pass over the whole set: checked at the prototype's size (500 sequences, so the matrix
/// products split their 4000 rows into other blocks than the 512 of the head), after training
/// steps, on every `Factoring`.
#[test]
fn activations_of_the_first_sequences_are_those_of_the_whole_set() {
    let cfg = ModelConfig::prototype(64, 4);
    let data = make_data(DataSpec::default(), 7);
    let head = data.head(64);
    assert_eq!((data.n, head.n), (500, 64));
    assert_eq!((&head.x[..], &head.y[..]), (&data.x[..512], &data.y[..64]));
    for path in [Factoring::QkvAndOut, Factoring::Qkv, Factoring::PerToken] {
        let be = Cpu::<f32>::new();
        let (all, first) = (
            DeviceData::new(&be, &data).unwrap(),
            DeviceData::new(&be, &head).unwrap(),
        );
        let mut model = Model::new(be, cfg, &init_params::<f32>(&cfg, 3)).unwrap();
        model.set_factoring(path).unwrap();
        for _ in 0..2 {
            model.train_step(&all, 1e-2).unwrap();
        }
        let whole = model.all_activations(&all).unwrap();
        let part = model.all_activations(&first).unwrap();
        assert_eq!(whole.len(), part.len());
        for (w, p) in whole.iter().zip(&part) {
            assert_eq!(w.name, p.name);
            assert_eq!((w.shape[0], p.shape[0]), (4000, 512), "{}", w.name);
            assert_eq!(w.shape[1], p.shape[1]);
            let n = p.data.len();
            assert!(
                w.data[..n] == p.data[..],
                "{path:?} {}: the first 512 rows differ",
                w.name
            );
        }
    }
}
