//! The built-in emulated pump and balance: a deterministic discrete-event model served over ptys.
