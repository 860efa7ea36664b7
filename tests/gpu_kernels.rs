//! GPU tests (feature `cuda`): skipped with a message when there is no CUDA driver or device,
//! failed instead when REQUIRE_GPU=1.

use mha_cv::backend::cpu::Cpu;
use mha_cv::backend::cuda::{bench, driver_present, geometry, selftest, Cuda};
use mha_cv::data::{make_data, DataSpec};
use mha_cv::model::{init_params, DeviceData, Model, ModelConfig};
use mha_cv::options::Precision;

/// The device, or None (test skipped) when there is none and REQUIRE_GPU is not 1.
fn gpu() -> Option<Cuda> {
    let required = std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1");
    let reason = if driver_present() {
        match Cuda::new(0) {
            Ok(c) => return Some(c),
            Err(e) => e.to_string(),
        }
    } else {
        "no CUDA driver".to_string()
    };
    assert!(!required, "REQUIRE_GPU=1 but the GPU is unusable: {reason}");
    eprintln!("skipped: {reason}");
    None
}

#[test]
fn every_kernel_matches_its_reference() {
    let Some(mut cuda) = gpu() else { return };
    cuda.set_checked(true);
    let checks = selftest::run_all(&cuda, 20_240_601);
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok())
        .map(|c| {
            format!(
                "{} [{}]: err {:.3e} tol {:.3e} {:?}",
                c.kernel, c.sizes, c.err, c.tol, c.failure
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} checks failed:\n{}",
        failed.len(),
        checks.len(),
        failed.join("\n")
    );
}

/// The model's forward+backward trace on the GPU against the CPU in f64, with the CPU's own f32
/// error as the yardstick: the GPU may be at most 10× worse than the CPU f32 path (or 64·u of
/// the tensor's norm, whichever is larger), tensor by tensor.
#[test]
fn model_trace_matches_the_cpu() {
    let Some(cuda) = gpu() else { return };
    let cfg = ModelConfig::prototype(64, 4);
    let data = make_data(DataSpec::default(), 42);
    let p32 = init_params::<f32>(&cfg, 42);
    let p64 = init_params::<f64>(&cfg, 42);
    let trace = |t: Vec<mha_cv::model::HostTensor<f32>>| -> Vec<(String, Vec<f64>)> {
        t.into_iter()
            .map(|h| (h.name, h.data.iter().map(|&v| f64::from(v)).collect()))
            .collect()
    };
    let mut gpu_model = Model::new(cuda, cfg, &p32).unwrap();
    let gpu_data = DeviceData::new(gpu_model.backend(), &data).unwrap();
    let g = trace(gpu_model.trace(&gpu_data).unwrap());
    let mut cpu32 = Model::new(Cpu::<f32>::new(), cfg, &p32).unwrap();
    let c = trace(
        cpu32
            .trace(&DeviceData::new(cpu32.backend(), &data).unwrap())
            .unwrap(),
    );
    let mut cpu64 = Model::new(Cpu::<f64>::new(), cfg, &p64).unwrap();
    let r = cpu64
        .trace(&DeviceData::new(cpu64.backend(), &data).unwrap())
        .unwrap();
    assert_eq!(g.len(), r.len());
    let u = f64::from(f32::EPSILON) / 2.0;
    for (((name, gv), (_, cv)), rt) in g.iter().zip(&c).zip(&r) {
        assert_eq!(name, &rt.name);
        let norm = rt
            .data
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let err = |x: &[f64]| {
            x.iter()
                .zip(&rt.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
                / norm
        };
        let (eg, ec) = (err(gv), err(cv));
        assert!(
            eg <= (10.0 * ec).max(64.0 * u),
            "{name}: GPU error {eg:.3e}, CPU f32 error {ec:.3e}"
        );
    }
}

#[test]
fn bench_and_geometry_entry_points_run() {
    let Some(cuda) = gpu() else { return };
    let b = bench::bench_det_gpu(&cuda, Precision::F64, 10_007, 3).unwrap();
    assert!(
        b.seconds_median > 0.0 && b.det_per_second.is_finite() && b.copy_gb_per_s > 0.0,
        "{b:?}"
    );
    // det of 2·I = 64, of a swapped identity = −1.
    let mut m = vec![0.0f64; 72];
    for i in 0..6 {
        m[i * 6 + i] = 2.0;
        m[36 + i * 6 + (i ^ 1)] = 1.0;
    }
    assert_eq!(
        geometry::det6_batch_gpu(&cuda, &m).unwrap(),
        vec![64.0, -1.0]
    );
    assert!(geometry::det6_batch_gpu(&cuda, &m[..35]).is_err());
}

/// `cv --device cuda`: the same tuples as the CPU path, so in f64 the volumes agree to a few
/// units of roundoff of each simplex's scale H and the CV to ~1e-12; in f32 the volumes carry
/// f32 rounding (≈ 2e-7 relative for well-shaped simplices) and the CV agrees to ~1e-5.
#[test]
fn cv_on_the_gpu_matches_the_cpu() {
    use mha_cv::geometry::cv::{cv_metric, CvOptions, CvOutcome};
    let Some(cuda) = gpu() else { return };
    let mut rng = mha_cv::rng::Rng::new(9);
    let (rows, cols) = (700, 37);
    let matrix: Vec<f64> = (0..rows * cols).map(|_| rng.normal()).collect();
    for (precision, tol) in [(Precision::F64, 1e-12), (Precision::F32, 1e-5)] {
        let opts = CvOptions {
            precision,
            ..CvOptions::default()
        };
        let cpu = cv_metric(&matrix, rows, cols, &opts).unwrap();
        let gpu = geometry::cv_metric_gpu(&cuda, &matrix, rows, cols, &opts).unwrap();
        let (
            CvOutcome::Value {
                cv: a, valid: va, ..
            },
            CvOutcome::Value {
                cv: b, valid: vb, ..
            },
        ) = (&cpu, &gpu)
        else {
            panic!("{precision}: expected values, got {cpu:?} and {gpu:?}");
        };
        assert_eq!(va, vb, "{precision}: kept volumes differ");
        assert!((a - b).abs() <= tol * a, "{precision}: cpu {a} gpu {b}");
    }
}
