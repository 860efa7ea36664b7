//! The kernels compiled by build.rs, embedded in the binary, and the names the Rust side
//! launches (one constant each, so a typo is a compile error and the test below checks that
//! every name exists in the fatbins).

mod generated {
    include!(concat!(env!("OUT_DIR"), "/kernels.rs"));
}
pub use generated::MODULES;

macro_rules! kernel_names {
    ($($id:ident = $name:literal,)*) => {
        $(pub const $id: &str = $name;)*
        /// Every kernel the Rust side launches.
        pub const USED: &[&str] = &[$($name),*];
    };
}

kernel_names! {
    ADD = "add_f32",
    ACCUMULATE = "accumulate_f32",
    COL_SUM_ACC = "col_sum_acc_f32",
    EMBED_FWD = "embed_fwd_f32",
    EMBED_BWD = "embed_bwd_f32",
    LINEAR_FWD = "linear_fwd_f32",
    LINEAR_BWD_DX = "linear_bwd_dx_f32",
    LINEAR_BWD_DW = "linear_bwd_dw_f32",
    ATTENTION_FWD = "attention_fwd_f32",
    ATTENTION_BWD = "attention_bwd_f32",
    LAYERNORM_FWD = "layernorm_fwd_f32",
    LAYERNORM_BWD_DX = "layernorm_bwd_dx_f32",
    LAYERNORM_BWD_PARAMS = "layernorm_bwd_params_f32",
    MEAN_POOL_FWD = "mean_pool_fwd_f32",
    MEAN_POOL_BWD = "mean_pool_bwd_f32",
    XENT_ROWS = "xent_rows_f32",
    MEAN = "mean_f32",
    XENT_BWD = "xent_bwd_f32",
    ADAM = "adam_f32",
    DET6_F32 = "det6_f32",
    DET6_F64 = "det6_f64",
    CM_VOL2_F32 = "cm_vol2_f32",
    CM_VOL2_F32_F64 = "cm_vol2_f32_f64",
    CM_VOL2_F64 = "cm_vol2_f64",
    REDUCE_SUM_ROWS = "reduce_sum_rows_f32",
    REDUCE_MAX_ROWS = "reduce_max_rows_f32",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_launched_kernel_is_in_the_fatbins_and_every_kernel_is_launched() {
        let compiled: Vec<&str> = MODULES
            .iter()
            .flat_map(|(_, _, names)| names.iter().copied())
            .collect();
        for name in USED {
            assert!(
                compiled.contains(name),
                "kernel {name} is launched but not compiled"
            );
        }
        for name in &compiled {
            assert!(
                USED.contains(name),
                "kernel {name} is compiled but never launched"
            );
        }
        for (stem, fatbin, _) in MODULES {
            // A fatbin starts with the magic 0xBA55ED50 (little-endian).
            assert_eq!(
                fatbin.get(..4),
                Some(&[0x50, 0xED, 0x55, 0xBA][..]),
                "{stem}.fatbin"
            );
        }
    }
}
