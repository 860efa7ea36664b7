//! A data set on the backend: token ids and labels uploaded once, the host copy kept for checks.

use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::{Error, Result};

pub struct DeviceData<B: Backend> {
    /// (n, seq_len) token ids.
    pub(super) x: B::Ids,
    /// (n) labels.
    pub(super) y: B::Ids,
    host: Dataset,
}

impl<B: Backend> DeviceData<B> {
    /// Uploads `data` (checked for consistent lengths and at least one sample; token and label
    /// ranges are checked against a model's config when a model uses it).
    pub fn new(backend: &B, data: &Dataset) -> Result<Self> {
        if data.n == 0 || data.seq_len == 0 {
            return Err(Error::input(format!(
                "data: {} samples of length {}; expected at least one sample of length ≥ 1",
                data.n, data.seq_len
            )));
        }
        if data.x.len() != data.n * data.seq_len || data.y.len() != data.n {
            return Err(Error::input(format!(
                "data: x has {} tokens and y {} labels; expected x ({}, {}) and y ({})",
                data.x.len(),
                data.y.len(),
                data.n,
                data.seq_len,
                data.n
            )));
        }
        Ok(DeviceData {
            x: backend.upload_ids(&data.x)?,
            y: backend.upload_ids(&data.y)?,
            host: data.clone(),
        })
    }

    pub fn dataset(&self) -> &Dataset {
        &self.host
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.host.n
    }

    pub fn is_empty(&self) -> bool {
        self.host.n == 0
    }
}
