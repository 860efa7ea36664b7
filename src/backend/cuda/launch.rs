//! Launch geometry of every kernel: grid, block and dynamic shared memory, as small pure
//! functions with unit tests (no GPU needed). The block-size constants mirror the `#define`s in
//! `kernels/*.cuh`; a mismatch would be caught by `selftest` on the GPU.

use cudarc::driver::LaunchConfig;

use crate::backend::AttnDims;
use crate::error::{Error, Result};

/// Threads per block of the one-thread-per-element kernels (`ELEMENTWISE_BLOCK`, common.cuh).
pub const ELEMENTWISE_BLOCK: u32 = 256;
/// Matrices per block of det6_* (`DET_BLOCK`, det6.cu).
pub const DET_BLOCK: u32 = 128;
/// Tile of the SGEMM (`GEMM_BM`, `GEMM_BN`, `GEMM_THREADS`, gemm.cuh).
pub const GEMM_TILE: u32 = 64;
pub const GEMM_THREADS: u32 = 256;
/// Column-reduction block (`COL_TILE` × `COL_ROWS`, reduce.cuh).
pub const COL_TILE: u32 = 32;
pub const COL_ROWS: u32 = 8;
/// Threads per block of the per-row kernels (LayerNorm, reductions): at most this many.
pub const ROW_BLOCK_MAX: u32 = 256;
/// Threads per (batch, head) block of the attention kernels.
pub const ATTN_BLOCK: u32 = 128;
/// Columns per block of embed_bwd: at most this many.
pub const EMBED_BLOCK_MAX: u32 = 128;
/// Dynamic shared memory available without opting in to more (every CUDA GPU since sm_20).
pub const SHARED_LIMIT: usize = 48 * 1024;
/// Largest grid in y and z.
const GRID_YZ_MAX: u32 = 65_535;

/// `n` as the `unsigned` the kernels take; sizes beyond u32 are bad input, not a wrap.
pub fn to_u32(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::input(format!(
            "{what} = {n} exceeds the GPU kernels' limit of {} (u32); split the work",
            u32::MAX
        ))
    })
}

/// Blocks needed to cover `n` items with `per_block` items each (0 for n = 0).
pub fn blocks(n: usize, per_block: u32) -> Result<u32> {
    to_u32(n.div_ceil(per_block as usize), "grid size")
}

/// `n` rounded up to a whole number of warps, at least one, at most `max`.
fn warps_for(n: usize, max: u32) -> u32 {
    let n = n.clamp(1, max as usize) as u32;
    n.div_ceil(32) * 32
}

/// One thread per element; `None` when there is nothing to do (a grid of 0 blocks is invalid).
pub fn elementwise(n: usize) -> Result<Option<LaunchConfig>> {
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(LaunchConfig {
        grid_dim: (blocks(n, ELEMENTWISE_BLOCK)?, 1, 1),
        block_dim: (ELEMENTWISE_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }))
}

/// One block per row of a (rows × cols) matrix, threads striding over the columns.
pub fn per_row(rows: usize, cols: usize) -> Result<Option<LaunchConfig>> {
    if rows == 0 {
        return Ok(None);
    }
    Ok(Some(LaunchConfig {
        grid_dim: (to_u32(rows, "rows")?, 1, 1),
        block_dim: (warps_for(cols, ROW_BLOCK_MAX), 1, 1),
        shared_mem_bytes: 0,
    }))
}

/// Column sums of a (rows × cols) matrix: COL_TILE columns per block.
pub fn col_reduce(cols: usize) -> Result<Option<LaunchConfig>> {
    if cols == 0 {
        return Ok(None);
    }
    Ok(Some(LaunchConfig {
        grid_dim: (blocks(cols, COL_TILE)?, 1, 1),
        block_dim: (COL_TILE, COL_ROWS, 1),
        shared_mem_bytes: 0,
    }))
}

/// The SGEMM producing an (m × n) matrix: one 64 × 64 tile per block, x over columns.
pub fn gemm(m: usize, n: usize) -> Result<Option<LaunchConfig>> {
    if m == 0 || n == 0 {
        return Ok(None);
    }
    let gy = blocks(m, GEMM_TILE)?;
    if gy > GRID_YZ_MAX {
        return Err(Error::input(format!(
            "matrix product with {m} rows needs {gy} row tiles, above the grid limit {GRID_YZ_MAX}; at most {} rows",
            GRID_YZ_MAX as usize * GEMM_TILE as usize
        )));
    }
    Ok(Some(LaunchConfig {
        grid_dim: (blocks(n, GEMM_TILE)?, gy, 1),
        block_dim: (GEMM_THREADS, 1, 1),
        shared_mem_bytes: 0,
    }))
}

/// Attention: one block per (batch, head); q, k, v (and dout in the backward pass) of the head
/// plus one (forward) or two (backward) seq × seq matrices in dynamic shared memory.
pub fn attention(d: AttnDims, backward: bool) -> Result<Option<LaunchConfig>> {
    let tiles = d.seq * d.head_dim;
    let floats = if backward {
        4 * tiles + 2 * d.seq * d.seq
    } else {
        3 * tiles + d.seq * d.seq
    };
    let bytes = floats * std::mem::size_of::<f32>();
    if bytes > SHARED_LIMIT {
        return Err(Error::input(format!(
            "attention with seq {} and head_dim {} needs {bytes} bytes of shared memory per block, above {SHARED_LIMIT}; \
             the GPU kernel supports seq·(4·head_dim + 2·seq) ≤ {} floats",
            d.seq,
            d.head_dim,
            SHARED_LIMIT / 4
        )));
    }
    if d.batch * d.heads == 0 || tiles == 0 {
        return Ok(None);
    }
    Ok(Some(LaunchConfig {
        grid_dim: (to_u32(d.batch * d.heads, "batch·heads")?, 1, 1),
        block_dim: (ATTN_BLOCK, 1, 1),
        shared_mem_bytes: bytes as u32,
    }))
}

/// embed_bwd: one block row per vocabulary entry, column blocks of up to EMBED_BLOCK_MAX, and
/// the block's worth of staged ids in shared memory.
pub fn embed_bwd(vocab: usize, dim: usize) -> Result<Option<LaunchConfig>> {
    if vocab == 0 || dim == 0 {
        return Ok(None);
    }
    let threads = warps_for(dim, EMBED_BLOCK_MAX);
    let gy = blocks(dim, threads)?;
    Ok(Some(LaunchConfig {
        grid_dim: (to_u32(vocab, "vocab")?, gy, 1),
        block_dim: (threads, 1, 1),
        shared_mem_bytes: threads * std::mem::size_of::<u32>() as u32,
    }))
}

/// det6_*: DET_BLOCK matrices per block (the static shared tile is sized for that).
pub fn det6(batch: usize) -> Result<Option<LaunchConfig>> {
    if batch == 0 {
        return Ok(None);
    }
    to_u32(batch, "batch")?;
    Ok(Some(LaunchConfig {
        grid_dim: (blocks(batch, DET_BLOCK)?, 1, 1),
        block_dim: (DET_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }))
}

/// A single block (the batch-mean of the loss).
pub fn single_block() -> LaunchConfig {
    LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (ROW_BLOCK_MAX, 1, 1),
        shared_mem_bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementwise_covers_every_element_with_one_partial_block() {
        for (n, grid) in [
            (1, 1),
            (255, 1),
            (256, 1),
            (257, 2),
            (4000 * 64, 1000),
            (1_000_003, 3907),
        ] {
            let c = elementwise(n).unwrap().unwrap();
            assert_eq!(c.grid_dim, (grid, 1, 1), "n = {n}");
            let threads = c.grid_dim.0 as usize * c.block_dim.0 as usize;
            assert!(
                threads >= n && threads - n < ELEMENTWISE_BLOCK as usize,
                "n = {n}"
            );
        }
        assert!(elementwise(0).unwrap().is_none());
    }

    #[test]
    fn sizes_beyond_u32_are_input_errors() {
        assert!(matches!(
            to_u32(u32::MAX as usize + 1, "n"),
            Err(Error::Input(_))
        ));
        assert_eq!(to_u32(u32::MAX as usize, "n").unwrap(), u32::MAX);
        assert!(det6(u32::MAX as usize + 1).is_err());
    }

    #[test]
    fn per_row_uses_whole_warps_up_to_the_cap() {
        for (cols, threads) in [
            (1, 32),
            (12, 32),
            (33, 64),
            (64, 64),
            (200, 224),
            (256, 256),
            (1000, 256),
        ] {
            let c = per_row(7, cols).unwrap().unwrap();
            assert_eq!(c.block_dim, (threads, 1, 1), "cols = {cols}");
            assert_eq!(c.grid_dim, (7, 1, 1));
        }
        assert!(per_row(0, 5).unwrap().is_none());
    }

    #[test]
    fn col_reduce_tiles_columns() {
        for (cols, grid) in [(1, 1), (32, 1), (33, 2), (768, 24), (1000, 32)] {
            let c = col_reduce(cols).unwrap().unwrap();
            assert_eq!(c.grid_dim, (grid, 1, 1), "cols = {cols}");
            assert_eq!(c.block_dim, (COL_TILE, COL_ROWS, 1));
        }
    }

    #[test]
    fn gemm_grid_is_columns_by_rows_of_tiles() {
        let c = gemm(4000, 768).unwrap().unwrap();
        assert_eq!(c.grid_dim, (12, 63, 1));
        assert_eq!(gemm(1, 1).unwrap().unwrap().grid_dim, (1, 1, 1));
        assert_eq!(gemm(65, 129).unwrap().unwrap().grid_dim, (3, 2, 1));
        assert!(gemm(0, 5).unwrap().is_none());
        assert!(gemm(65_536 * 64, 1).is_err());
    }

    #[test]
    fn attention_shared_memory_and_its_limit() {
        let d = AttnDims {
            batch: 500,
            seq: 8,
            heads: 2,
            head_dim: 32,
        };
        let f = attention(d, false).unwrap().unwrap();
        assert_eq!(f.grid_dim, (1000, 1, 1));
        assert_eq!(f.shared_mem_bytes as usize, (3 * 8 * 32 + 64) * 4);
        let b = attention(d, true).unwrap().unwrap();
        assert_eq!(b.shared_mem_bytes as usize, (4 * 8 * 32 + 128) * 4);
        // The prototype's largest head (dim 256, 1 head) fits: 4·8·256 + 128 floats = 33 280 bytes.
        let big = AttnDims {
            batch: 500,
            seq: 8,
            heads: 1,
            head_dim: 256,
        };
        assert_eq!(
            attention(big, true).unwrap().unwrap().shared_mem_bytes,
            33_280
        );
        let too_big = AttnDims {
            batch: 1,
            seq: 64,
            heads: 1,
            head_dim: 256,
        };
        assert!(matches!(attention(too_big, true), Err(Error::Input(_))));
    }

    #[test]
    fn embed_bwd_blocks_cover_the_dimension() {
        let c = embed_bwd(256, 200).unwrap().unwrap();
        assert_eq!(c.block_dim, (128, 1, 1));
        assert_eq!(c.grid_dim, (256, 2, 1));
        assert_eq!(c.shared_mem_bytes, 512);
        let small = embed_bwd(32, 12).unwrap().unwrap();
        assert_eq!((small.block_dim.0, small.grid_dim), (32, (32, 1, 1)));
    }

    #[test]
    fn det6_grid_rounds_up_to_whole_blocks() {
        for (batch, grid) in [
            (1, 1),
            (128, 1),
            (129, 2),
            (1_000_000, 7813),
            (10_000_000, 78_125),
        ] {
            assert_eq!(
                det6(batch).unwrap().unwrap().grid_dim,
                (grid, 1, 1),
                "batch = {batch}"
            );
        }
        assert!(det6(0).unwrap().is_none());
    }
}
