//! Uncertainty, null baselines and aggregation over seeds (filled by its issue).
