//! (room filled by its issue)
