//! The CUDA backend: hand-written kernels (`kernels/*.cu`, compiled by build.rs into fatbins
//! embedded in the binary) launched through cudarc with the driver loaded at run time, so a
//! binary built without a GPU runs wherever `libcuda.so.1` is.
//!
//! - [`Cuda`]: the context, stream and loaded kernels; implements [`crate::backend::Backend`]
//!   in f32 (`ops.rs`).
//! - [`geometry`]: batched 6×6 determinants and fused Cayley–Menger volumes on the device.
//! - [`bench`]: determinant throughput against device-to-device copy bandwidth.
//! - [`launch`]: every kernel's launch geometry (unit-tested without a GPU).
//!
//! Errors: launches return `Error::Device` naming the kernel. Kernels run asynchronously, so a
//! fault inside one surfaces at the next synchronisation (a download); with
//! [`Cuda::set_checked`] every launch is followed by a synchronisation and a fault names its
//! kernel (the selftest runs that way).

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DeviceRepr, ValidAsZeroBits,
};
use cudarc::nvrtc::Ptx;

use crate::backend::Scalar;
use crate::error::{Error, Result};

pub mod bench;
pub mod geometry;
pub mod kernels;
pub mod launch;
mod ops;
pub mod selftest;

/// The CUDA device, its stream and every kernel of the embedded fatbins. Cloning is cheap and
/// shares the context and stream (so several models can train on one device in turn).
#[derive(Clone)]
pub struct Cuda {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    functions: HashMap<&'static str, CudaFunction>,
    checked: bool,
}

impl std::fmt::Debug for Cuda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cuda")
            .field("ordinal", &self.ctx.ordinal())
            .field("kernels", &self.functions.len())
            .field("checked", &self.checked)
            .finish()
    }
}

/// Whether the CUDA driver library can be opened (cudarc panics instead of returning an error
/// when it cannot, so every entry point asks this first).
pub fn driver_present() -> bool {
    // SAFETY: only tries to dlopen the library names; no CUDA call is made.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

impl Cuda {
    /// Opens device `ordinal` and loads every kernel.
    pub fn new(ordinal: usize) -> Result<Self> {
        if !driver_present() {
            return Err(Error::device(
                "no CUDA driver found (libcuda.so.1 could not be loaded): this machine has no NVIDIA driver \
                 or it is not on the library path (LD_LIBRARY_PATH); use --device cpu",
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| {
            Error::device(format!(
                "cannot open CUDA device {ordinal}: {e} (is there a GPU? `nvidia-smi` lists them); use --device cpu"
            ))
        })?;
        // One stream only: cudarc's per-buffer event tracking (for multi-stream use) is not
        // needed, and skipping it saves two events per allocation.
        // SAFETY: no buffer exists yet, and all work goes to the one stream below.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.default_stream();
        let mut functions = HashMap::new();
        for (stem, fatbin, names) in kernels::MODULES {
            let module = ctx.load_module(Ptx::from_binary(fatbin.to_vec())).map_err(|e| {
                Error::device(format!(
                    "cannot load kernels/{stem}.cu's fatbin on device {ordinal}: {e} (built for sm_80/sm_90 SASS and \
                     compute_90 PTX; an older GPU or a driver older than CUDA 13.0 cannot run it)"
                ))
            })?;
            for name in names.iter() {
                let f = module.load_function(name).map_err(|e| {
                    Error::device(format!(
                        "kernel `{name}` missing from kernels/{stem}.cu's fatbin: {e}"
                    ))
                })?;
                functions.insert(*name, f);
            }
        }
        Ok(Cuda {
            ctx,
            stream,
            functions,
            checked: false,
        })
    }

    /// With `true`, every launch is followed by a synchronisation, so an execution fault is
    /// reported with its kernel's name, and every op's fresh output buffer starts as NaN, so an
    /// element a kernel fails to write shows up (slower; for the selftest and debugging).
    pub fn set_checked(&mut self, checked: bool) {
        self.checked = checked;
    }

    /// "NVIDIA H200 (sm_90)".
    pub fn describe(&self) -> Result<String> {
        let name = self
            .ctx
            .name()
            .map_err(|e| Error::device(format!("cannot read the device name: {e}")))?;
        let (major, minor) = self
            .ctx
            .compute_capability()
            .map_err(|e| Error::device(format!("cannot read the compute capability: {e}")))?;
        Ok(format!("{name} (sm_{major}{minor})"))
    }

    /// Waits for all queued work; a fault in any earlier kernel is reported here.
    pub fn synchronize(&self, after: &str) -> Result<()> {
        self.stream
            .synchronize()
            .map_err(|e| Error::device(format!("a kernel failed (detected after {after}): {e}")))
    }

    pub(crate) fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    pub(crate) fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    pub(crate) fn function(&self, name: &str) -> Result<&CudaFunction> {
        self.functions.get(name).ok_or_else(|| {
            Error::device(format!(
                "kernel `{name}` is not in the embedded fatbins (rebuild with --features cuda)"
            ))
        })
    }

    /// After a launch: in checked mode, synchronise and name the kernel on failure.
    pub(crate) fn after_launch(&self, name: &str) -> Result<()> {
        if self.checked {
            self.stream
                .synchronize()
                .map_err(|e| Error::device(format!("kernel `{name}` failed: {e}")))?;
        }
        Ok(())
    }

    /// Copies `host` to a new device buffer.
    pub fn upload_slice<T: DeviceRepr>(&self, host: &[T]) -> Result<CudaSlice<T>> {
        self.stream
            .clone_htod(host)
            .map_err(|e| Error::device(format!("upload of {} elements failed: {e}", host.len())))
    }

    /// Copies a device buffer back to the host, waiting for all queued work first.
    pub fn download_slice<T: DeviceRepr + Default + Clone>(
        &self,
        buf: &CudaSlice<T>,
    ) -> Result<Vec<T>> {
        let host = self.stream.clone_dtoh(buf).map_err(|e| {
            Error::device(format!("download of {} elements failed: {e}", buf.len()))
        })?;
        self.synchronize("a download")?;
        Ok(host)
    }

    /// A fresh output buffer that a kernel overwrites entirely: NaN-poisoned in checked mode,
    /// zeros otherwise.
    pub(crate) fn output<T: Scalar + DeviceRepr + ValidAsZeroBits>(
        &self,
        len: usize,
    ) -> Result<CudaSlice<T>> {
        if self.checked {
            self.upload_slice(&vec![T::nan(); len])
        } else {
            self.zeros_of(len)
        }
    }

    /// A new device buffer of `len` zeros.
    pub fn zeros_of<T: DeviceRepr + ValidAsZeroBits>(&self, len: usize) -> Result<CudaSlice<T>> {
        self.stream
            .alloc_zeros(len)
            .map_err(|e| Error::device(format!("allocation of {len} elements failed: {e}")))
    }
}

/// Launches kernel `$name` (a `kernels::` constant) with `$cfg` (an `Option<LaunchConfig>`:
/// `None` = nothing to do) and the given argument references (scalars bound to locals first).
macro_rules! launch_kernel {
    ($cuda:expr, $name:expr, $cfg:expr, $($arg:expr),+ $(,)?) => {{
        let cuda: &$crate::backend::cuda::Cuda = $cuda;
        let name: &str = $name;
        match $cfg {
            None => Ok(()),
            Some(cfg) => {
                use cudarc::driver::PushKernelArg as _;
                let f = cuda.function(name)?;
                let mut builder = cuda.stream().launch_builder(f);
                $( builder.arg($arg); )+
                // SAFETY: the argument list matches the kernel's signature in kernels/*.cu
                // (checked by selftest on the GPU), and the caller checked every buffer's length
                // against the sizes passed, so the kernel stays in bounds.
                unsafe { builder.launch(cfg) }
                    .map_err(|e| $crate::error::Error::device(format!("launching kernel `{name}` failed: {e}")))?;
                cuda.after_launch(name)
            }
        }
    }};
}
pub(crate) use launch_kernel;

/// Bad input unless `len == expected`: names the op, the buffer and the expected shape.
pub(crate) fn check_len(
    op: &str,
    buf: &str,
    len: usize,
    expected: usize,
    shape: &str,
) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{op}: {buf} has {len} elements, expected {expected} = {shape}"
        )))
    }
}
