//! Demo data: a realistic Tuesday at the clinic (being written).
