//! CPU backend (filled by its issue)
