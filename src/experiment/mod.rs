//! Experiments: one config's run (train, and measure at pre / mid / post), the sweep over
//! configs, the output folder that makes it resumable, and shards.

pub mod inputs;
pub mod measure;
pub mod result;
pub mod run;
pub mod seeds;
pub mod settings;
pub mod shard;
pub mod store;
pub mod sweep;
pub mod tensor_cv;
